import { runSetup } from '../src/deployment-setup.js';

// `npm run setup [-- --dry-run] [-- --package-managers]`: prepares the live deployment this
// environment describes (its Managed Agents environment) and says what it did; exits 1 on failure.
const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((arg) => arg !== '--dry-run' && arg !== '--package-managers');
if (unknown.length > 0) {
  process.stderr.write(`Unknown option ${unknown.join(', ')}. Options: --dry-run, --package-managers\n`);
  process.exit(2);
}
try {
  const report = await runSetup({
    environment: process.env,
    dryRun: args.has('--dry-run'),
    packageManagers: args.has('--package-managers'),
  });
  process.stdout.write(`${report.lines.join('\n')}\n`, () => process.exit(report.ok ? 0 : 1));
} catch (error) {
  // The message only: the SDK's errors carry no secrets, and a stack helps nobody here.
  process.stderr.write(`Setup failed: ${error instanceof Error ? error.message : String(error)}\n`, () =>
    process.exit(1),
  );
}
