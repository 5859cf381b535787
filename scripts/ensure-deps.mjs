// Installs dependencies when node_modules is missing or older than package-lock.json, so the
// README's `npm start` and `npm test` work on a fresh clone. Plain JS: it runs before TypeScript.
//
// `npm ci` first. Some npm 11 setups (this workplace's: omit-lockfile-registry-resolved) write
// lock files without other platforms' optional binaries and then refuse them in `npm ci`; there,
// `npm install` installs the same locked versions.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.log('Installing dependencies (npm ci)…');
  try {
    execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
  } catch {
    console.log('npm ci refused the lock file; installing the locked versions with npm install…');
    execSync('npm install --no-audit --no-fund', { stdio: 'inherit' });
  }
}
