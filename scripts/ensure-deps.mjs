// Installs dependencies when node_modules is missing or older than package-lock.json, so the
// README's `npm start` and `npm test` work on a fresh clone. Plain JS: it runs before TypeScript.
// `npm ci` installs exactly the committed lock file and never rewrites it, so a clone stays clean.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.log('Installing dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
