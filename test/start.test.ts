import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { freePort } from '../src/http.js';

/** `npm start` runs `tsx src/main.ts`; these run the same entry point as a child process. */
function startMain(env: Record<string, string>): ChildProcess {
  return spawn(join('node_modules', '.bin', 'tsx'), ['src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess) {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => {
    output.stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output, exited };
}

describe('starting Deputy', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'deputy-start-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test('without credentials it runs the sandbox, says so, serves the workspace page, answers /healthz and stops cleanly', async () => {
    const port = await freePort();
    const child = startMain({ PORT: String(port), DEPUTY_DATA_DIR: dataDir });
    const { output, exited } = collect(child);
    // Patience, not a timing check: a cold, busy machine can take a while to start the sandbox.
    const deadline = Date.now() + 90_000;
    let workspace: string | undefined;
    while (!workspace && Date.now() < deadline) {
      workspace = /Open the workspace: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output.stdout)?.[1];
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      expect(workspace).toBeDefined();
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
    expect(await exited).toBe(0);
  }, 120_000);

  test('a bad configuration stops it with one message naming every bad variable and no value', async () => {
    const child = startMain({
      PORT: 'eighty',
      SLACK_BOT_TOKEN: 'canary-not-a-token',
      DEPUTY_DATA_DIR: dataDir,
    });
    const { output, exited } = collect(child);
    expect(await exited).toBe(1);
    expect(output.stderr).toMatch(/Deputy cannot start: \d+ configuration problems:/);
    expect(output.stderr).toContain('PORT:');
    expect(output.stderr).toContain('SLACK_BOT_TOKEN:');
    expect(output.stderr).not.toContain('canary-not-a-token');
    expect(output.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
