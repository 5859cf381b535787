import { resolve } from 'node:path';
import { DEFAULT_SKILLS_FOLDER, runSkillsSync } from '../src/skills-sync.js';
import { runCommand } from './command.js';

// `npm run skills:sync [-- --dry-run] [-- --prune] [-- --dir PATH]`: uploads the skills folder's new
// and changed skills; prints what it did; exits 1 when a skill was refused or the sync failed.
await runCommand(
  'Skill sync',
  { 'dry-run': { type: 'boolean' }, prune: { type: 'boolean' }, dir: { type: 'string' } },
  (values) =>
    runSkillsSync({
      environment: process.env,
      folder: typeof values.dir === 'string' ? resolve(values.dir) : DEFAULT_SKILLS_FOLDER,
      dryRun: values['dry-run'] === true,
      prune: values.prune === true,
    }),
);
