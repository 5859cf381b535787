import Anthropic from '@anthropic-ai/sdk';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type Deputy, startDeputy } from '../../src/app.js';
import { type Clock, ManualClock } from '../../src/clock.js';
import { randomIds } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { buildServices } from '../../src/runtime.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { SlackDriver } from '../../src/sandbox/slack/driver.js';
import type { Services } from '../../src/services.js';
import { openTestStorage, type TestStorage } from './storage.js';

/**
 * Deputy on its real HTTP surface, wired to the sandbox's emulators and a fresh in-memory dynalite:
 * tests talk to it only as Slack would, through the driver's signed requests.
 */
export interface Harness {
  readonly sandbox: Sandbox;
  readonly deputy: Deputy;
  readonly driver: SlackDriver;
  readonly services: Services;
  readonly storage: TestStorage;
  /** A separate SDK client for tests to inspect (and seed) the Managed Agents emulator. */
  readonly anthropic: Anthropic;
  readonly clock: ManualClock;
  /** Every log line the app wrote. */
  readonly logLines: string[];
  /** Every item in the main and audit tables, raw. */
  scanTables(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startHarness(options: { clock?: ManualClock } = {}): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(Date.now());
  const appClock: Clock = clock;
  const sandbox = await startSandbox({ clock: appClock });
  const storage = await openTestStorage('dynalite');
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets: [sandbox.signingSecret, sandbox.slackConnection.botToken, sandbox.anthropicOptions.apiKey],
    write: (line) => logLines.push(line),
  });
  const services = buildServices({
    store: storage.store,
    anthropic: new Anthropic(sandbox.anthropicOptions),
    clock: appClock,
    ids: randomIds,
    logger,
  });
  const deputy = await startDeputy({ slack: sandbox.slackConnection, services });
  // Bolt checks its token with auth.test when the app is built; let it land before tests look at calls.
  await sandbox.slack.waitFor('auth.test');
  sandbox.slack.reset();
  const driver = new SlackDriver({
    appUrl: deputy.url,
    signingSecret: sandbox.signingSecret,
    slack: sandbox.slack,
    clock: appClock,
  });
  return {
    sandbox,
    deputy,
    driver,
    services,
    storage,
    anthropic: new Anthropic({ ...sandbox.anthropicOptions, maxRetries: 0 }),
    clock,
    logLines,
    scanTables: async () => {
      const items: Record<string, unknown>[] = [];
      for (const table of [storage.store.tables.main, storage.store.tables.audit]) {
        const { Items } = await storage.dynamo.doc.send(new ScanCommand({ TableName: table }));
        items.push(...(Items ?? []));
      }
      return items;
    },
    close: async () => {
      await deputy.close();
      await storage.close();
      await sandbox.close();
    },
  };
}

/** Waits until `probe` returns something other than undefined (polling; no timing assertions). */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
