import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ManagedAgentsEmulator } from '../sandbox/managed-agents/emulator.js';
import { SlackEmulator } from '../sandbox/slack/emulator.js';
import { freePort } from '../src/http.js';
import { type ProcessOutput, watchOutput } from './support/process-output.js';

/** `npm start` runs `node --import tsx scripts/start.ts`; these run the same command as a child process. */
function npmStart(env: Record<string, string>): { child: ChildProcess; output: ProcessOutput } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, output: watchOutput(child) };
}

describe('npm start', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'deputy-start-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test('without credentials it runs the sandbox, says so, serves the workspace page, answers /healthz and stops cleanly', async () => {
    const port = await freePort();
    const { child, output } = npmStart({ PORT: String(port), DEPUTY_DATA_DIR: dataDir });
    try {
      // Patience, not a timing check: a cold, busy machine can take a while to start the sandbox.
      const [, workspace] = await output.stdoutMatching(
        /Open the workspace: (http:\/\/127\.0\.0\.1:\d+\/)/,
        90_000,
      );
      expect(output.stdout).toContain('SANDBOX mode');
      expect(output.stdout.match(/https?:\/\/[^\s)]+/g)).toEqual([workspace]);
      const page = await fetch(workspace ?? '');
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('data-region="main"');
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await output.exited).toBe(0);
  }, 120_000);

  test('with live credentials it runs only the product, against the configured services', async () => {
    const slack = await SlackEmulator.start();
    const anthropic = await ManagedAgentsEmulator.start();
    const port = await freePort();
    const { child, output } = npmStart({
      PORT: String(port),
      DEPUTY_DATA_DIR: dataDir,
      SLACK_SIGNING_SECRET: 'canary-signing-secret',
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_API_URL: slack.apiUrl,
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
    });
    try {
      await output.stdoutMatching(/LIVE mode/, 90_000);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(output.stdout).not.toContain('SANDBOX');
      expect(output.stdout).not.toContain('Open the workspace');
      expect(`${output.stdout}${output.stderr}`).not.toContain('canary-signing-secret');
    } finally {
      child.kill('SIGTERM');
      await slack.close();
      await anthropic.close();
    }
    expect(await output.exited).toBe(0);
  }, 120_000);

  test('a bad configuration stops it with one message naming every bad variable and no value', async () => {
    const { output } = npmStart({
      PORT: 'eighty',
      SLACK_BOT_TOKEN: 'canary-not-a-token',
      DEPUTY_DATA_DIR: dataDir,
    });
    expect(await output.exited).toBe(1);
    expect(output.stderr).toMatch(/Deputy cannot start: \d+ configuration problems:/);
    expect(output.stderr).toContain('PORT:');
    expect(output.stderr).toContain('SLACK_BOT_TOKEN:');
    expect(output.stderr).not.toContain('canary-not-a-token');
    expect(output.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
