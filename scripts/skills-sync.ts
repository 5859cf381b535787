import { resolve } from 'node:path';
import { DEFAULT_SKILLS_FOLDER, runSkillsSync } from '../src/skills-sync.js';

// `npm run skills:sync [-- --dry-run] [-- --prune] [-- --dir PATH]`: uploads the skills folder's new
// and changed skills; prints what it did; exits 1 when a skill was refused or the sync failed.
const args = process.argv.slice(2);
const dirAt = args.indexOf('--dir');
const folder = dirAt >= 0 ? args[dirAt + 1] : undefined;
const flags = args.filter((_, i) => dirAt < 0 || (i !== dirAt && i !== dirAt + 1));
const unknown = flags.filter((arg) => arg !== '--dry-run' && arg !== '--prune');
if (unknown.length > 0 || (dirAt >= 0 && !folder)) {
  process.stderr.write('Options: --dry-run, --prune, --dir PATH\n');
  process.exit(2);
}
try {
  const report = await runSkillsSync({
    environment: process.env,
    folder: folder ? resolve(folder) : DEFAULT_SKILLS_FOLDER,
    dryRun: flags.includes('--dry-run'),
    prune: flags.includes('--prune'),
  });
  process.stdout.write(`${report.lines.join('\n')}\n`, () => process.exit(report.ok ? 0 : 1));
} catch (error) {
  process.stderr.write(`Skill sync failed: ${error instanceof Error ? error.message : String(error)}\n`, () =>
    process.exit(1),
  );
}
