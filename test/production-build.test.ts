import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ManagedAgentsEmulator } from '../sandbox/managed-agents/emulator.js';
import { SlackEmulator } from '../sandbox/slack/emulator.js';
import { freePort } from '../src/http.js';
import { watchOutput } from './support/process-output.js';

/**
 * The Dockerfile's steps without Docker (there is no engine here): `npm run build`, then a runtime
 * folder holding only production dependencies (`npm ci --omit=dev`) and `dist/`, started as the
 * image starts it, with NODE_ENV=production and live credentials pointing at the emulators.
 */
describe('the production build', () => {
  const root = resolve('.');
  let runtimeDir: string;
  let slack: SlackEmulator;
  let anthropic: ManagedAgentsEmulator;

  beforeAll(async () => {
    runtimeDir = mkdtempSync(join(tmpdir(), 'deputy-image-'));
    slack = await SlackEmulator.start();
    anthropic = await ManagedAgentsEmulator.start();
  });
  afterAll(async () => {
    await slack.close();
    await anthropic.close();
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  test('builds, installs without dev dependencies, starts in production mode and answers /healthz', async () => {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
    // The image ships dist/: the product, and nothing of the sandbox's emulators or workspace page.
    const shipped = readdirSync(join(root, 'dist'), { recursive: true, withFileTypes: true }).filter((e) =>
      e.isFile(),
    );
    expect(
      shipped
        .map((e) => relative(root, join(e.parentPath, e.name)))
        .filter((p) => /sandbox|emulator/i.test(p)),
    ).toEqual([]);
    expect(
      shipped.filter(
        (e) =>
          e.name.endsWith('.js') &&
          /(?:from|import\()\s*['"][^'"]*sandbox\//.test(readFileSync(join(e.parentPath, e.name), 'utf8')),
      ),
    ).toEqual([]);
    for (const file of ['package.json', 'package-lock.json'])
      cpSync(join(root, file), join(runtimeDir, file));
    installProductionDependencies(runtimeDir);
    cpSync(join(root, 'dist'), join(runtimeDir, 'dist'), { recursive: true });

    const port = await freePort();
    const child = spawn('node', ['dist/src/main.js'], {
      cwd: runtimeDir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        PORT: String(port),
        SLACK_SIGNING_SECRET: 'canary-signing-secret',
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_API_URL: slack.apiUrl,
        ANTHROPIC_API_KEY: anthropic.apiKey,
        ANTHROPIC_BASE_URL: anthropic.url,
        DEPUTY_DATA_DIR: join(runtimeDir, 'data'),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = watchOutput(child);
    try {
      // Printed once the server listens. Patience, not a timing check.
      await output.stdoutMatching(/LIVE mode/, 90_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(`${output.stdout}${output.stderr}`).not.toContain('canary-signing-secret');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await output.exited).toBe(0);
  }, 600_000);
});

/** The image's `npm ci --omit=dev`: the committed lock file, as is. */
function installProductionDependencies(cwd: string): void {
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd,
    stdio: 'pipe',
  });
}
