import { runSetup } from '../src/deployment-setup.js';

// `npm run setup [-- --dry-run] [-- --package-managers] [-- --agent NAME]`: prepares the live
// deployment this environment describes and says what it did; exits 1 on failure.
const args = process.argv.slice(2);
const agentAt = args.indexOf('--agent');
const firstAgent = agentAt >= 0 ? args[agentAt + 1] : undefined;
const flags = args.filter((_, i) => agentAt < 0 || (i !== agentAt && i !== agentAt + 1));
const unknown = flags.filter((arg) => arg !== '--dry-run' && arg !== '--package-managers');
if (unknown.length > 0 || (agentAt >= 0 && !firstAgent)) {
  process.stderr.write('Options: --dry-run, --package-managers, --agent NAME\n');
  process.exit(2);
}
try {
  const report = await runSetup({
    environment: process.env,
    dryRun: flags.includes('--dry-run'),
    packageManagers: flags.includes('--package-managers'),
    ...(firstAgent ? { firstAgent } : {}),
  });
  process.stdout.write(`${report.lines.join('\n')}\n`, () => process.exit(report.ok ? 0 : 1));
} catch (error) {
  // The message only: the SDK's errors carry no secrets, and a stack helps nobody here.
  process.stderr.write(`Setup failed: ${error instanceof Error ? error.message : String(error)}\n`, () =>
    process.exit(1),
  );
}
