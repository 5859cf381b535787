import Anthropic from '@anthropic-ai/sdk';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from '@jest/globals';
import type { View } from '@slack/types';
import type { Sandbox } from '../../sandbox/index.js';
import { type SandboxRuntime, startSandboxRuntime } from '../../sandbox/runtime.js';
import { SlackDriver } from '../../sandbox/slack/driver.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { randomBase58 } from '../../src/ids.js';
import type { DeliveryLimits } from '../../src/ingress/delivery-queue.js';
import { createLogger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import type { Services } from '../../src/services.js';
import { type DynamoHandle, startEmbeddedDynamo } from '../../src/store/dynamo.js';
import type { Store } from '../../src/store/index.js';

/**
 * Deputy as `npm start` runs it in the sandbox (the same runtime), on a fresh in-memory dynalite and
 * a manual clock: tests talk to it only as Slack and browsers would.
 */
export interface Harness {
  readonly runtime: SandboxRuntime;
  readonly sandbox: Sandbox;
  readonly url: string;
  readonly driver: SlackDriver;
  readonly services: Services;
  readonly store: Store;
  /** A separate SDK client for tests to inspect (and seed) the Managed Agents emulator. */
  readonly anthropic: Anthropic;
  readonly clock: ManualClock;
  /** Every log line the app wrote (none when the harness was given its own `log`). */
  readonly logLines: string[];
  /** The storage engine under the store (for instrumenting its client). */
  readonly dynamo: DynamoHandle;
  /** Every item in the main and audit tables, raw. */
  scanTables(): Promise<Record<string, unknown>[]>;
  /**
   * Waits until nothing happens any more without someone acting or the clock moving: Deputy's work
   * has ended or waits (on time, or for a session's next event), every emulated session waits on
   * nobody but a person, and every event of Deputy's sessions has been relayed to Slack, unless
   * the relaying waits on the clock (Slack's limits, a retry's pause): then it goes on once the
   * test moves the clock. `replica`:
   * another set of services over the same table whose relays count instead.
   */
  /** Until Deputy's work rests: this process's, or `replica`'s, or (a list) all of theirs together. */
  settle(replica?: Services | readonly Services[]): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    clock?: ManualClock;
    environment?: Record<string, string>;
    outboundTimeoutMs?: number;
    metrics?: Metrics;
    deliveryLimits?: DeliveryLimits;
    /** How often the runtime's sweep runs (default 30 s). */
    sweepMs?: number;
    /**
     * Slack's rate limits, in the emulator and Deputy's pacer alike, multiplied by this. Default
     * 1000: the clock stands still between a test's steps, where minutes would pass between a real
     * person's, so a suite would otherwise wait on limits it never meets; the tests about Slack's
     * limits pass 1 and move the clock.
     */
    slackRateScale?: number;
    /** Where log lines go instead of `logLines` (a long run that must not keep them). */
    log?: (line: string) => void;
    /**
     * Storage already open, outside this process (a long run measuring the app's memory); closed by
     * its owner. Default: a fresh in-memory dynalite.
     */
    dynamo?: DynamoHandle;
  } = {},
): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(Date.now());
  const environment = { PORT: '0', DEPUTY_TABLE_PREFIX: `t${randomBase58(8)}-`, ...options.environment };
  const config = loadConfig(environment);
  const logLines: string[] = [];
  const dynamo = options.dynamo ?? (await startEmbeddedDynamo());
  const logger = createLogger({ level: 'debug', write: options.log ?? ((line) => logLines.push(line)) });
  const runtime = await onAFreePort(() =>
    startSandboxRuntime(config, logger, {
      clock,
      dynamo,
      environment,
      ...(options.outboundTimeoutMs ? { outboundTimeoutMs: options.outboundTimeoutMs } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.deliveryLimits ? { deliveryLimits: options.deliveryLimits } : {}),
      ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
      slackRateScale: options.slackRateScale ?? 1000,
      // The clock stands still between steps: a burst's requests arrive together, no straggler to wait for.
      ackQuietMs: 0,
    }),
  );
  const sandbox = runtime.sandbox;
  // Bolt checks its token with auth.test when the app is built; let it land before tests look at calls.
  await sandbox.slack.waitFor('auth.test');
  sandbox.slack.reset();
  const store = runtime.services.store;
  return {
    runtime,
    sandbox,
    url: runtime.deputy.url,
    driver: new SlackDriver({
      appUrl: runtime.deputy.url,
      signingSecret: sandbox.signingSecret,
      slack: sandbox.slack,
      clock,
    }),
    services: runtime.services,
    store,
    anthropic: new Anthropic({ ...sandbox.anthropicOptions, maxRetries: 0 }),
    clock,
    logLines,
    dynamo,
    settle: (replica) => settleSandbox(runtime, replica),
    scanTables: async () => {
      const items: Record<string, unknown>[] = [];
      for (const table of [store.tables.main, store.tables.audit]) {
        const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: table }));
        items.push(...(Items ?? []));
      }
      return items;
    },
    close: async () => {
      await runtime.close();
      if (!options.dynamo) await dynamo.close();
    },
  };
}

/** Per runtime: the last event of each session already seen relayed (so settling stays cheap). */
const relayedUpTo = new WeakMap<SandboxRuntime, Map<string, string>>();

/** Harness.settle for any sandbox runtime (the browser test starts its own). */
export async function settleSandbox(
  runtime: SandboxRuntime,
  replica?: Services | readonly Services[],
): Promise<void> {
  const { managedAgents } = runtime.sandbox;
  const { work, relays } = together(replica === undefined ? [runtime.services] : [replica].flat());
  const store = runtime.services.store;
  const seen = relayedUpTo.get(runtime) ?? new Map<string, string>();
  relayedUpTo.set(runtime, seen);
  for (;;) {
    await work.settled();
    // A webhook on its way wakes a relay: its work is not under way until it arrives.
    await managedAgents.webhooksSettled();
    await work.settled();
    const sessions = managedAgents.sessions();
    await Promise.all(sessions.map((s) => managedAgents.settled(s.id)));
    const behind: string[] = [];
    for (const { id } of sessions) {
      // The relay's cursor moves past processed events only (a queued one has no place yet).
      const last = managedAgents
        .events(id)
        .filter((e) => 'processed_at' in e && e.processed_at)
        .at(-1)?.id;
      // A session whose last event was seen relayed before, and that has none since, needs no read.
      if (!last || seen.get(id) === last) continue;
      const relayed = await store.sessions.get(id);
      if (relayed && relayed.cursor !== last) behind.push(id);
      else seen.set(id, last);
    }
    if (behind.length === 0 && !work.busy) return;
    // A relay that waits on the clock (Slack's limits, a retry's pause) goes on only once it moves.
    if (!work.busy && work.sleeping > 0) return;
    const unrelayed = behind.filter((id) => !relays.isRelaying(id));
    if (unrelayed.length > 0 && !work.busy) {
      throw new Error(
        `events of ${unrelayed.join(', ')} were never relayed and no relay runs: did the test stop the relays, or must the clock pass a lease?`,
      );
    }
    // An event on its way to a relay, or work that has just started: look again when work moves.
    await work.nextChange();
  }
}

/** Several processes' work and relays as one: settled when all are, relaying when any is. */
interface Settling {
  work: Pick<Services['work'], 'settled' | 'busy' | 'sleeping' | 'nextChange'>;
  relays: Pick<Services['relays'], 'isRelaying'>;
}

function together(processes: readonly Services[]): Settling {
  if (processes.length === 1 && processes[0]) return processes[0];
  const work = {
    settled: async () => {
      for (const p of processes) await p.work.settled();
    },
    get busy() {
      return processes.some((p) => p.work.busy);
    },
    get sleeping() {
      return processes.reduce((n, p) => n + p.work.sleeping, 0);
    },
    nextChange: () => Promise.race(processes.map((p) => p.work.nextChange())),
  };
  const relays = { isRelaying: (id: string) => processes.some((p) => p.relays.isRelaying(id)) };
  return { work, relays };
}

/** A new person in the sandbox workspace, a member of #general. */
export function joinWorkspace(h: Harness, userId: string): void {
  h.sandbox.slack.addMember(userId);
}

/** The person's vault id, from their mapping in the store. */
export async function vaultIdOf(h: Harness, userId: string): Promise<string> {
  const mapping = await h.store.vaultMappings.get(`T:${h.sandbox.slack.teamId}:${userId}`);
  if (mapping?.status !== 'ready') throw new Error(`${userId} has no vault`);
  return mapping.resourceId;
}

/**
 * Awaits `work` (a browser run, a request) while Deputy sleeps on the clock inside it (a retry's
 * pause, a lease waited out): whenever Deputy's work rests and `work` is not done, the clock moves
 * `stepMs`. `replica`: wait on that process's work instead (the harness's own may be frozen).
 */
export async function letTimePass<T>(
  h: Harness,
  work: Promise<T>,
  options: { replica?: Services; stepMs?: number } = {},
): Promise<T> {
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  const deputyWork = (options.replica ?? h.services).work;
  for (let steps = 0; !done; steps += 1) {
    await Promise.race([finished, h.settle(options.replica)]);
    if (done) break;
    if (steps > 1000) throw new Error('the work did not finish while time passed');
    // Time moves only while Deputy waits in the middle of something; otherwise `work` is on its way
    // to Deputy (a browser between two pages), and the next unit of work is awaited instead.
    if (deputyWork.inFlight > 0) h.clock.advance(options.stepMs ?? 500);
    else await Promise.race([finished, deputyWork.nextChange()]);
  }
  return finished;
}

/**
 * Deputy's port is picked before it listens (its URL is in every link it makes), so another test
 * process can take it in between: such a start is tried again on a new port.
 */
async function onAFreePort<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    }
  }
}

/**
 * The modal a command opened, as it shows once filled: opened at once with a loading view (the
 * trigger lives 3 seconds), then updated in place with its content (issue 15, item 5).
 */
export async function modalOpenedBy<V = View>(h: Harness, userId: string, commandText: string): Promise<V> {
  const before = h.sandbox.slack.callsTo('views.open').length;
  const sent = await h.driver.command(userId, commandText);
  expect(sent.status).toBe(200);
  const opened = await h.sandbox.slack.waitFor(
    'views.open',
    (c) => h.sandbox.slack.callsTo('views.open').indexOf(c) >= before,
  );
  expect(JSON.stringify(opened.body.view)).toContain('Loading');
  const viewId = (opened.response as { view?: { id?: string } }).view?.id;
  const filled = await h.sandbox.slack.waitFor('views.update', (c) => c.body.view_id === viewId);
  return filled.body.view as V;
}

/** The person opens the app's Home tab; its blocks once Deputy has published it. */
export async function openHome(h: Harness, userId: string): Promise<string> {
  await h.driver.event({
    type: 'app_home_opened',
    user: userId,
    channel: h.sandbox.slack.dmChannelId(userId),
    tab: 'home',
  });
  await h.settle();
  return JSON.stringify(h.sandbox.slack.homeView(userId)?.blocks ?? []);
}
