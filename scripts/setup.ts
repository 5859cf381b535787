import { runSetup } from '../src/deployment-setup.js';
import { runCommand } from './command.js';

// `npm run setup [-- --dry-run] [-- --package-managers] [-- --agent NAME]`: prepares the live
// deployment this environment describes and says what it did; exits 1 on failure.
await runCommand(
  'Setup',
  { 'dry-run': { type: 'boolean' }, 'package-managers': { type: 'boolean' }, agent: { type: 'string' } },
  (values) =>
    runSetup({
      environment: process.env,
      dryRun: values['dry-run'] === true,
      packageManagers: values['package-managers'] === true,
      ...(values.agent ? { firstAgent: values.agent } : {}),
    }),
);
