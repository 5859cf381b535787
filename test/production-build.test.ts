import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { freePort } from '../src/http.js';
import { ManagedAgentsEmulator } from '../src/sandbox/managed-agents/emulator.js';
import { SlackEmulator } from '../src/sandbox/slack/emulator.js';

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
    const output = collect(child);
    try {
      const health = await poll(`http://127.0.0.1:${port}/healthz`, 90_000);
      expect(health).toBe(200);
      expect(output.text).toContain('LIVE mode');
      expect(output.text).not.toContain('canary-signing-secret');
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

function collect(child: ChildProcess) {
  const state = {
    text: '',
    exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
  };
  child.stdout?.on('data', (d: Buffer) => {
    state.text += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    state.text += d.toString();
  });
  return state;
}

/** The first HTTP status the URL answers with, trying until the deadline (patience, not a timing check). */
async function poll(url: string, ms: number): Promise<number | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      return (await fetch(url)).status;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return undefined;
}
