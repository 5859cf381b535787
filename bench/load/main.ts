/**
 * `npm run bench:load`: Deputy under load, in its production build and a process of its own, with
 * the emulators, DynamoDB Local and this driver in others, over loopback. It prints one table per
 * scenario of issue 17, each measured side by side in this one run:
 *
 * - acks: p50/p99 of the time to Slack's answer for bursts of 50 and 200 concurrent `/agent run`,
 *   against a bare Bolt app (its own process too) taking the same bursts;
 * - the start path: DynamoDB, Managed Agents and Slack calls between the command and "Started";
 * - Slack calls per session by method, for sessions that search once and answer;
 * - relays: the time from the emulator emitting an agent message to the Slack call that shows it,
 *   at 10, 100 and 300 live sessions, with each Slack method's peak rate against its tier;
 * - memory: RSS per session with 1,000 sessions waiting on approvals, over the idle process (one
 *   that has served sessions and finished them), each read as the median over 30 s;
 * - replicas: refused relay lease writes per minute with two replicas, and how long the sessions of
 *   a killed one take to be relayed again.
 *
 * Scenes are set by a Deputy inside this process with Slack's limits raised (people connected,
 * sessions started), closed before anything is measured: the measured process adopts what it left
 * as it would a stopped replica's. `--only acks,path,calls,relay,memory,replicas` runs some.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { RecordedCall } from '../../sandbox/slack/call-log.js';
import { slashCommandBody } from '../../sandbox/slack/payloads.js';
import { SLACK_METHOD_LIMITS } from '../../src/slack/rate-limits.js';
import { type MeasuredProcess, startBareApp, startDeputy } from './processes.js';
import { markerIn, type PlannedStep } from './script.js';
import { closeSeeder, inBatches, principalOf, startSeeder, startWorld } from './world.js';

const SCENARIOS = ['acks', 'path', 'calls', 'relay', 'memory', 'replicas'] as const;
type Scenario = (typeof SCENARIOS)[number];
const { values } = parseArgs({ options: { only: { type: 'string' } }, strict: true });
const only = new Set((values.only?.split(',') ?? SCENARIOS) as Scenario[]);

const LEASE_MS = 30_000;
const dir = await mkdtemp(join(tmpdir(), 'deputy-load-'));
const world = await startWorld({ dir, users: 60 });
const client = new Worker(new URL('../load-client.mjs', import.meta.url));
const slack = world.sandbox.slack;
const managedAgents = world.sandbox.managedAgents;
let runs = 0;
const report: string[] = [];

interface Sent {
  status: number;
  ms: number;
  text: string;
}

function send(burst: Array<{ url: string; body: string }>): Promise<Sent[]> {
  return new Promise((resolve) => {
    client.once('message', resolve);
    client.postMessage({ burst: burst.map((r) => ({ ...r, signingSecret: world.sandbox.signingSecret })) });
  });
}

function command(userId: string, text: string): { body: string; responseUrl: string } {
  const responseUrl = slack.newResponseUrl({ userId });
  const body = slashCommandBody(slack, {
    userId,
    text,
    command: '/agent',
    channel: slack.channel('general'),
    responseUrl,
    triggerId: slack.newTriggerId({ userId }),
  });
  return { body, responseUrl };
}

/** Resolves once each response_url has had an answer that starts with "Started". */
async function startedReplies(urls: string[], timeoutMs: number): Promise<RecordedCall[]> {
  return Promise.all(
    urls.map((url) =>
      slack.waitFor(
        'response_url',
        (c) => c.body.url === url && JSON.stringify(c.body).includes('Started'),
        timeoutMs,
      ),
    ),
  );
}

/** Resolves once `count()` has not changed for `quietMs` (Deputy's follow-up work has run out). */
async function quiet(count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  let last = count();
  let since = Date.now();
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
};
const median = (values: number[]) => percentile(values, 50);
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const text = [
    `\n${title}\n`,
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
  report.push(text);
  process.stdout.write(`${text}\n`);
}

/** The most calls to each Web API method in any 60 s, with the method's tier. */
function peakRates(calls: RecordedCall[]): Map<string, { peak: number; total: number; limited: number }> {
  const byMethod = new Map<string, RecordedCall[]>();
  for (const call of calls) {
    if (call.method === 'response_url') continue;
    byMethod.set(call.method, [...(byMethod.get(call.method) ?? []), call]);
  }
  const peaks = new Map<string, { peak: number; total: number; limited: number }>();
  for (const [method, list] of byMethod) {
    const answered = list.filter((c) => c.status !== 429).map((c) => c.at);
    let peak = 0;
    let start = 0;
    for (let end = 0; end < answered.length; end += 1) {
      while ((answered[end] ?? 0) - (answered[start] ?? 0) >= 60_000) start += 1;
      peak = Math.max(peak, end - start + 1);
    }
    peaks.set(method, { peak, total: list.length, limited: list.filter((c) => c.status === 429).length });
  }
  return peaks;
}
const tierOf = (method: string) => SLACK_METHOD_LIMITS[method]?.workspace.limit ?? 20;

/** Starts `count` sessions with `prompt` through the scene-setting Deputy, Slack's limits raised. */
async function seedSessions(count: number, prompt: (i: number) => string): Promise<string[]> {
  slack.setRateTierScale(100);
  const seeder = startSeeder(world);
  const ids: string[] = [];
  await inBatches(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const userId = world.users[i % world.users.length] as string;
      const outcome = await seeder.sessions.run(
        principalOf(world, userId),
        { text: prompt(i), channelId: world.generalChannel, dedupeKey: `seed-${runs}-${i}` },
        'load',
      );
      if (outcome.kind !== 'started') throw new Error(`seeding session ${i}: ${outcome.kind}`);
      outcome.session.open();
      ids.push(outcome.session.sessionId);
    },
  );
  runs += 1;
  await seeder.work.settled();
  await closeSeeder(seeder);
  slack.setRateTierScale(1);
  return ids;
}

async function waitFor(condition: () => boolean, maxMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > maxMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return Date.now() - started;
}

async function acks(): Promise<void> {
  const bare = await startBareApp(world, dir);
  const deputy = await startDeputy(world, dir, 'acks');
  const targets = { bare, deputy } as const;
  const warm = async (target: MeasuredProcess) => {
    for (let i = 0; i < 20; i += 1)
      await send([{ url: `${target.url}/slack/events`, ...command(world.users[i] as string, 'status') }]);
  };
  await warm(bare);
  await warm(deputy);
  // Deputy's start path warmed too (its first sessions load code the status command does not):
  // the table is the steady state, not a cold start.
  for (let i = 0; i < 10; i += 1) {
    const request = command(world.users[i] as string, `run --agent quick quick warm-${i}`);
    await send([{ url: `${deputy.url}/slack/events`, body: request.body }]);
    await startedReplies([request.responseUrl], 30_000);
  }
  const rows: string[][] = [];
  for (const [concurrent, bursts] of [
    [50, 3],
    [200, 2],
  ] as const) {
    const samples = { bare: [] as number[], deputy: [] as number[] };
    let refused = 0;
    for (let burst = 0; burst < bursts; burst += 1) {
      const order = burst % 2 === 0 ? (['bare', 'deputy'] as const) : (['deputy', 'bare'] as const);
      for (const name of order) {
        // Each burst meets a settled process: what the previous burst started (sessions starting,
        // relays, root edits waiting on Slack's limits) has stopped calling DynamoDB.
        await quiet(() => world.counter.total(), 1500, 120_000);
        const requests = Array.from({ length: concurrent }, (_, i) =>
          command(
            world.users[i % world.users.length] as string,
            `run --agent quick quick ack-${concurrent}-${burst}-${i}`,
          ),
        );
        const answers = await send(
          requests.map((r) => ({ url: `${targets[name].url}/slack/events`, body: r.body })),
        );
        samples[name].push(...answers.map((a) => a.ms));
        if (name === 'deputy') {
          refused += answers.filter((a) => a.status !== 200 || a.text.includes('busy')).length;
          await startedReplies(
            requests.map((r) => r.responseUrl),
            240_000,
          );
        }
      }
    }
    const b = { p50: median(samples.bare), p99: percentile(samples.bare, 99) };
    const d = { p50: median(samples.deputy), p99: percentile(samples.deputy, 99) };
    rows.push([
      String(concurrent),
      String(samples.deputy.length),
      fmt(b.p50),
      fmt(b.p99),
      fmt(d.p50),
      fmt(d.p99),
      `${(d.p99 / b.p99).toFixed(2)}x`,
      String(refused),
      d.p99 <= 1.5 * b.p99 ? 'yes' : 'NO',
    ]);
  }
  table(
    'Acks: bursts of /agent run, each into a settled process; Deputy (production build) vs a bare Bolt app, each in its own process',
    [
      'concurrent',
      'acks',
      'bare p50',
      'bare p99',
      'Deputy p50',
      'Deputy p99',
      'p99 ratio',
      'refused',
      '≤1.5x',
    ],
    rows,
  );
  await deputy.stop();
  await bare.stop();
}

async function startPath(): Promise<void> {
  const deputy = await startDeputy(world, dir, 'path');
  const rows: Array<{ dynamo: Map<string, number>; anthropic: number; slack: Map<string, number> }> = [];
  for (let i = 0; i < 5; i += 1) {
    // A person this process has not opened a DM with yet: the costliest start.
    const userId = world.users[world.users.length - 1 - i] as string;
    await quiet(() => world.counter.total() + slack.calls.length, 1500, 20_000);
    const anthropicBefore = managedAgents.requests.length;
    const slackBefore = slack.calls.length;
    const request = command(userId, `run --agent quick quick path-${i}`);
    const sentAt = Date.now();
    await send([{ url: `${deputy.url}/slack/events`, body: request.body }]);
    const [started] = await startedReplies([request.responseUrl], 30_000);
    // What reached each service before the reply reached Slack: the session's thread and record,
    // written right after it, are not on the path.
    const repliedAt = started?.at ?? Date.now();
    const dynamo = world.counter.between(sentAt, repliedAt);
    const slackCalls = new Map<string, number>();
    for (const call of slack.calls.slice(slackBefore))
      if (call.method !== 'response_url' && call.at <= repliedAt)
        slackCalls.set(call.method, (slackCalls.get(call.method) ?? 0) + 1);
    const anthropic = managedAgents.requests.slice(anthropicBefore).filter((r) => r.at <= repliedAt).length;
    rows.push({ dynamo, anthropic, slack: slackCalls });
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const typical = [...rows].sort((a, b) => total(a.dynamo) - total(b.dynamo))[2] ?? rows[0];
  if (!typical) return;
  const listed = (m: Map<string, number>) =>
    [...m.entries()].map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  table(
    'From the command to the "Started" reply (median of 5 starts, each by a person new to the process)',
    ['service', 'calls', 'which', 'target'],
    [
      [
        'DynamoDB',
        String(total(typical.dynamo)),
        listed(typical.dynamo),
        total(typical.dynamo) <= 6 ? '≤6 yes' : '≤6 NO',
      ],
      ['Managed Agents', String(typical.anthropic), '', ''],
      [
        'Slack Web API',
        String(total(typical.slack)),
        listed(typical.slack),
        total(typical.slack) <= 2 ? '≤2 yes' : '≤2 NO',
      ],
    ],
  );
  await deputy.stop();
}

async function callsPerSession(): Promise<void> {
  const deputy = await startDeputy(world, dir, 'calls');
  const sessions = 20;
  const before = slack.calls.length;
  const requests = Array.from({ length: sessions }, (_, i) =>
    command(world.users[i] as string, `run --agent asker answer calls-${i}`),
  );
  await send(requests.map((r) => ({ url: `${deputy.url}/slack/events`, body: r.body })));
  await startedReplies(
    requests.map((r) => r.responseUrl),
    120_000,
  );
  await waitFor(
    () =>
      slack.calls.slice(before).filter((c) => JSON.stringify(c.body).includes('Here is what I found'))
        .length >= sessions,
    180_000,
    'the answers',
  );
  await quiet(() => slack.calls.length, 3000, 120_000);
  const peaks = peakRates(slack.calls.slice(before));
  table(
    `Slack calls per session (${sessions} sessions that search once and answer, each by a person new to the process)`,
    ['method', 'per session', 'peak per min', 'tier per min', '429s'],
    [...peaks.entries()].map(([method, p]) => [
      method,
      (p.total / sessions).toFixed(2),
      String(p.peak),
      String(tierOf(method)),
      String(p.limited),
    ]),
  );
  await deputy.stop();
}

async function relays(): Promise<void> {
  const rows: string[][] = [];
  const windowMs = 30_000;
  for (const live of [10, 100, 300]) {
    const group = `g${live}`;
    const ids = await seedSessions(live, (i) => `--agent asker live ${group} ${i}`);
    const deputy = await startDeputy(world, dir, `relay-${live}`);
    await waitFor(() => managedAgents.openStreams() >= live, 120_000, `${live} streams`);
    const before = slack.calls.length;
    // Two messages a second across all sessions (within chat.postMessage's limit), and a tool call
    // from each session every 10 s, at random moments.
    const messages = (2 * windowMs) / 1000;
    const plans = new Map<string, PlannedStep[]>(ids.map((id) => [id, []]));
    for (let m = 0; m < messages; m += 1)
      plans.get(ids[m % live] as string)?.push({ atMs: Math.random() * windowMs, kind: 'message' });
    for (const id of ids)
      for (let at = Math.random() * 10_000; at < windowMs; at += 10_000)
        plans.get(id)?.push({ atMs: at, kind: 'tool' });
    for (const plan of plans.values()) plan.sort((a, b) => a.atMs - b.atMs);
    const emittedBefore = new Set(world.script.emitted.keys());
    world.script.release(group, (id) => plans.get(id) ?? []);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    world.script.end(group, 'finish');
    const markers = [...world.script.emitted.keys()].filter((m) => !emittedBefore.has(m));
    await waitFor(
      () => {
        const seen = new Set(slack.calls.slice(before).map((c) => markerIn(JSON.stringify(c.body))));
        return markers.every((m) => seen.has(m));
      },
      300_000,
      'every message in Slack',
    );
    const calls = slack.calls.slice(before);
    const latencies: number[] = [];
    for (const marker of markers) {
      const shown = calls.find((c) => c.status === 200 && markerIn(JSON.stringify(c.body)) === marker);
      const emitted = world.script.emitted.get(marker);
      if (shown && emitted !== undefined) latencies.push(shown.at - emitted);
    }
    await quiet(() => slack.calls.length, 3000, 60_000);
    const peaks = peakRates(slack.calls.slice(before));
    const over = [...peaks.entries()].filter(([m, p]) => p.peak > tierOf(m)).map(([m]) => m);
    const limited = [...peaks.values()].reduce((a, p) => a + p.limited, 0);
    const rate = (method: string) => `${peaks.get(method)?.peak ?? 0}/${tierOf(method)}`;
    rows.push([
      String(live),
      String(latencies.length),
      fmt(median(latencies)),
      fmt(percentile(latencies, 99)),
      rate('chat.postMessage'),
      rate('chat.update'),
      String(limited),
      over.length === 0 && percentile(latencies, 99) < 1000
        ? 'yes'
        : `NO${over.length ? ` (${over.join(', ')})` : ''}`,
    ]);
    await deputy.stop();
  }
  table(
    "Relays: agent message emitted at the emulator → the Slack call showing it; each method's peak calls in a minute vs its tier",
    [
      'live sessions',
      'messages',
      'p50',
      'p99',
      'postMessage peak/tier',
      'update peak/tier',
      '429s',
      'p99<1 s, within tiers',
    ],
    rows,
  );
}

async function memory(): Promise<void> {
  const sessions = 1000;
  const deputy = await startDeputy(world, dir, 'memory');
  // "Idle" is a process that has served traffic and finished it, as a replica in service is: V8 has
  // grown its heap to its working size, so what is left over it is what the sessions hold.
  const warmup = Array.from({ length: 60 }, (_, i) =>
    command(world.users[i % world.users.length] as string, `run --agent quick quick mem-warm-${i}`),
  );
  await send(warmup.map((r) => ({ url: `${deputy.url}/slack/events`, body: r.body })));
  await startedReplies(
    warmup.map((r) => r.responseUrl),
    240_000,
  );
  await quiet(() => world.counter.total() + slack.calls.length, 3000, 240_000);
  // V8 gives memory back when it sees the process idle (its memory reducer), seconds after the
  // last work: RSS is read once a second for 30 s and the median is taken, for each state alike.
  const rss = async () => {
    const samples: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      samples.push(await deputy.rss());
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return median(samples);
  };
  const idle = await rss();
  // Waiting for decisions: the measured process has them in its shards, holding nothing for them.
  await seedSessions(sessions, (i) => `--agent asker wait memory-${i}`);
  await quiet(() => world.counter.total() + slack.calls.length, 3000, 60_000);
  const waiting = await rss();
  // The worst case: every session mid-turn, its stream held by the measured process, which
  // adopts them when the process that started them leaves.
  await seedSessions(sessions, (i) => `--agent asker live mem ${i}`);
  await waitFor(
    () => managedAgents.openStreams() >= sessions,
    180_000,
    'adoption of the live sessions',
  ).catch(() => undefined);
  const streams = managedAgents.openStreams();
  await quiet(() => world.counter.total(), 3000, 60_000);
  const live = await rss();
  world.script.release('mem', () => []);
  world.script.end('mem', 'finish');
  const per = (bytes: number) => `${(bytes / sessions / 1024).toFixed(1)} KB`;
  table(
    `Memory: RSS of the measured process over its idle ${(idle / 2 ** 20).toFixed(1)} MB, per session`,
    ['sessions', 'state', 'streams held', 'RSS', 'per session', 'target'],
    [
      [
        String(sessions),
        'waiting for a decision',
        '0',
        `${(waiting / 2 ** 20).toFixed(1)} MB`,
        per(waiting - idle),
        waiting - idle <= 64 * 1024 * sessions ? '≤64 KB yes' : '≤64 KB NO',
      ],
      [
        String(sessions),
        'mid-turn, relayed',
        String(streams),
        `${(live / 2 ** 20).toFixed(1)} MB`,
        per(live - idle),
        live - idle <= 64 * 1024 * sessions ? '≤64 KB yes' : '≤64 KB NO',
      ],
    ],
  );
  await deputy.stop();
}

async function replicas(): Promise<void> {
  const live = 200;
  const ids = await seedSessions(live, (i) => `--agent asker live rep ${i}`);
  const first = await startDeputy(world, dir, 'replica-1');
  const second = await startDeputy(world, dir, 'replica-2');
  world.script.release('rep', () => []);
  await waitFor(() => managedAgents.openStreams() >= live, 120_000, 'both replicas relaying').catch(
    () => undefined,
  );
  // Past the first sweeps and lease retries: the steady state.
  await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 10_000));
  const steadyBefore = world.counter.failedRelayWrites.length;
  const steadyMs = 60_000;
  await new Promise((resolve) => setTimeout(resolve, steadyMs));
  const failedPerMinute = ((world.counter.failedRelayWrites.length - steadyBefore) * 60_000) / steadyMs;
  await first.stop('SIGKILL');
  const killedAt = Date.now();
  const before = slack.calls.length;
  world.script.end('rep', 'mark');
  let adoptedMs = Number.NaN;
  try {
    await waitFor(
      () => {
        const seen = new Set(slack.calls.slice(before).map((c) => markerIn(JSON.stringify(c.body))));
        return ids.every((id) => seen.has(`k-${id}`));
      },
      180_000,
      "the killed replica's sessions",
    );
    adoptedMs = Date.now() - killedAt;
  } catch {
    // Reported as not adopted.
  }
  table(
    `Replicas: ${live} live sessions, two Deputy processes; then one killed (lease period ${LEASE_MS / 1000} s)`,
    ['refused relay writes/min (steady)', 'all sessions relayed again after the kill', 'target'],
    [
      [
        failedPerMinute.toFixed(1),
        Number.isNaN(adoptedMs) ? 'not within 180 s' : fmt(adoptedMs),
        failedPerMinute === 0 && adoptedMs <= LEASE_MS ? 'yes' : 'NO',
      ],
    ],
  );
  await second.stop();
}

const steps: Record<Scenario, () => Promise<void>> = {
  acks,
  path: startPath,
  calls: callsPerSession,
  relay: relays,
  memory,
  replicas,
};
const started = Date.now();
try {
  for (const scenario of SCENARIOS) {
    if (!only.has(scenario)) continue;
    // Each scenario meets Slack's limits afresh, not the last one's calls of the past minute.
    slack.setRateTierScale(1);
    await steps[scenario]();
  }
  process.stdout.write(`\nLoad run finished in ${fmt(Date.now() - started)} on ${process.version}.\n`);
} finally {
  await client.terminate();
  await world.close();
  await rm(dir, { recursive: true, force: true });
}
