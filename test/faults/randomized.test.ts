import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { FailPoint, FaultHandle } from '../../sandbox/managed-agents/index.js';
import { DELIVERY_LEASE_MS } from '../../src/sessions/approvals.js';
import { type Approval, awaitsDelivery } from '../../src/store/index.js';
import { runConnect } from '../support/connect.js';
import { type Harness, letTimePass, vaultIdOf } from '../support/harness.js';
import { startSessionsHarness } from '../support/sessions.js';

/**
 * Runs, approvals, follow-ups, stops and connects, driven at random (a fixed seed, so a failure
 * replays) through Managed Agents failing before and after it acted, answers lost, processes frozen
 * mid-call and left for the sweep, decisions recorded by a process that then died, and Slack
 * delivering the same request twice. Then time passes until everything has settled, and the
 * invariants are checked: at most one session per run, exactly one confirmation per decided call,
 * no decision lost, no credential revoked that sits in a vault.
 */
const SEED = 20261129;
const CRASH_POINTS = 200;

let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
});
afterAll(() => h.close());

/** mulberry32: small, fast and the same on every platform. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(SEED);
const chance = (p: number) => next() < p;
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

const USERS = [
  { userId: 'U_ALICE', account: 'acct_alice' },
  { userId: 'U_BOB', account: 'acct_bob' },
] as const;

/** How Managed Agents fails a call: before acting, after acting with an error, or after acting with no answer. */
type CallFault = 'none' | 'error_before' | 'error_after' | 'lost_after';
const CALL_FAULTS: readonly CallFault[] = ['none', 'error_before', 'error_after', 'lost_after', 'lost_after'];

/** What was done, for the invariants and for the report. */
const counts = { crashPoints: 0, runs: 0, decisions: 0, followUps: 0, stops: 0, connects: 0, freezes: 0 };
const armed: FaultHandle[] = [];

function fail(point: FailPoint, fault: CallFault): void {
  if (fault === 'none') return;
  counts.crashPoints += 1;
  const ma = h.sandbox.managedAgents;
  if (fault === 'error_before') armed.push(ma.failAt(point, { status: 503 }));
  else if (fault === 'error_after') armed.push(ma.failAt(point, { status: 500, afterHandling: true }));
  else armed.push(ma.failAt(point, { afterHandling: true, drop: true }));
}

/**
 * Lets Deputy's retries run out (they sleep 0.5, 1 and 2 s on the clock between attempts), then
 * forgets faults nothing reached.
 */
async function drain(): Promise<void> {
  await h.settle();
  for (let step = 0; step < 4; step += 1) {
    h.clock.advance(1000);
    await h.settle();
  }
  for (const fault of armed.splice(0)) fault.clear();
}

/** The same Slack request again, as Slack retries it. */
function duplicate(request: Parameters<Harness['driver']['redeliver']>[0]) {
  counts.crashPoints += 1;
  return h.driver.redeliver(request, { retryNum: 1, retryReason: 'http_timeout' });
}

const ownerKey = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

async function openApprovals(): Promise<Approval[]> {
  const open = await h.store.approvals.open();
  const approvals = await Promise.all(open.map((entry) => h.store.approvals.get(entry.approvalId)));
  return approvals.filter((a): a is Approval => a?.status === 'pending' && a.messageTs !== undefined);
}

async function sessionsOf(userId: string) {
  return h.store.sessions.byOwner(ownerKey(userId), 100);
}

/**
 * Waits, without settling (a frozen call keeps Deputy busy), for `frozen` to be reached; false when
 * the work settled without reaching it (the call was never made), and then the fault is cleared.
 */
async function reachedOrSettled(frozen: FaultHandle): Promise<boolean> {
  const reached = await Promise.race([frozen.reached.then(() => true), h.settle().then(() => false)]);
  if (!reached) frozen.clear();
  return reached;
}

async function run(step: number): Promise<void> {
  const { userId } = pick(USERS);
  const prompt = `create a page titled R${step}`;
  counts.runs += 1;
  if (chance(0.15)) {
    // The process freezes once the session exists, before recording it: the sweep opens it.
    const frozen = h.sandbox.managedAgents.failAt('session.create', { afterHandling: true, hang: true });
    await h.driver.command(userId, `run --agent asker ${prompt}`, { channelId: 'C_GENERAL' });
    if (await reachedOrSettled(frozen)) {
      counts.crashPoints += 1;
      counts.freezes += 1;
      h.clock.advance(2 * 60 * 1000 + 31_000);
      await h.sandbox.slack.waitFor(
        'chat.postMessage',
        (c) =>
          c.body.channel === h.sandbox.slack.dmChannelId(userId) && JSON.stringify(c.body).includes(prompt),
      );
      frozen.release();
    }
    await drain();
    return;
  }
  fail('session.create', pick(CALL_FAULTS));
  const sent = await h.driver.command(userId, `run --agent asker ${prompt}`, { channelId: 'C_GENERAL' });
  if (chance(0.5)) await duplicate(sent.request);
  await drain();
}

async function decide(): Promise<void> {
  const pending = await openApprovals();
  if (pending.length === 0) return;
  const approval = pick(pending);
  const session = await h.store.sessions.get(approval.sessionId);
  if (!session) return;
  counts.decisions += 1;
  const card = { channelId: approval.channelId, messageTs: approval.messageTs ?? '' };
  if (chance(0.15)) {
    // Recorded, then the process died before sending: the sweep delivers it after the lease.
    counts.crashPoints += 1;
    await h.store.approvals.decide(approval.approvalId, 'allowed', session.principal.userId, h.clock.now(), {
      owner: 'dlv_dead',
      untilMs: h.clock.now() + DELIVERY_LEASE_MS,
    });
    await drain();
    return;
  }
  const actionId = pick(['session_approve', 'session_deny', 'session_approve_15m']);
  // Now and then someone else clicks first (refused), or the owner clicks twice.
  const clicker = chance(0.15) ? pick(USERS).userId : session.principal.userId;
  if (chance(0.15)) {
    const frozen = h.sandbox.managedAgents.failAt('session.events.send', { afterHandling: true, hang: true });
    await h.driver.blockAction(clicker, { actionId, value: approval.approvalId }, card);
    if (await reachedOrSettled(frozen)) {
      counts.crashPoints += 1;
      counts.freezes += 1;
      h.clock.advance(DELIVERY_LEASE_MS + 31_000);
      await h.sandbox.slack.waitFor('chat.update', (c) => c.body.ts === approval.messageTs);
      frozen.release();
    }
    await drain();
    return;
  }
  fail('session.events.send', pick(CALL_FAULTS));
  const clicks = chance(0.3) ? 2 : 1;
  const sent = await Promise.all(
    Array.from({ length: clicks }, () =>
      h.driver.blockAction(clicker, { actionId, value: approval.approvalId }, card),
    ),
  );
  if (chance(0.5) && sent[0]) await duplicate(sent[0].request);
  await drain();
}

async function followUp(step: number): Promise<void> {
  const { userId } = pick(USERS);
  const idle = (await sessionsOf(userId)).filter((s) => s.status === 'idle');
  if (idle.length === 0) return;
  const session = pick(idle);
  counts.followUps += 1;
  fail('session.events.send', pick(CALL_FAULTS));
  const sent = await h.driver.message(userId, `search the archive F${step}`, {
    channelId: session.dmChannelId,
    threadTs: session.threadTs,
  });
  if (chance(0.5)) await duplicate(sent.request);
  await drain();
}

async function stop(): Promise<void> {
  const { userId } = pick(USERS);
  const live = (await sessionsOf(userId)).filter((s) => s.status === 'running' || s.status === 'waiting');
  if (live.length === 0) return;
  const session = pick(live);
  counts.stops += 1;
  fail('session.events.send', pick(CALL_FAULTS));
  const root = { channelId: session.dmChannelId, messageTs: session.threadTs };
  const [first] = await Promise.all([
    h.driver.blockAction(userId, { actionId: 'session_stop', value: session.sessionId }, root),
    h.driver.blockAction(userId, { actionId: 'session_stop', value: session.sessionId }, root),
  ]);
  counts.crashPoints += 1;
  if (chance(0.5)) await duplicate(first.request);
  await drain();
}

async function connect(): Promise<void> {
  const { userId, account } = pick(USERS);
  counts.connects += 1;
  const fault = pick([...CALL_FAULTS, 'conflict_after_lost'] as const);
  if (fault === 'conflict_after_lost') {
    // The answer is lost and the first look for the credential fails too: the retry answers 409.
    counts.crashPoints += 2;
    const lost = h.sandbox.managedAgents.failAt('credential.create', { afterHandling: true, drop: true });
    armed.push(lost);
    void lost.reached.then(() =>
      armed.push(
        h.sandbox.managedAgents.injectFault({
          method: 'GET',
          path: /^\/v1\/vaults\/[^/]+\/credentials$/,
          status: 503,
          times: 3,
        }),
      ),
    );
  } else {
    fail('credential.create', fault);
  }
  // Already connected, so the Connect message offers Disconnect: the link is minted as Reconnect would.
  const link = await h.services.connections.mintLink({ teamId: h.sandbox.slack.teamId, userId }, 'notion');
  await letTimePass(h, runConnect(h, link, { signedInAs: userId, account }));
  await drain();
}

async function timePasses(): Promise<void> {
  h.clock.advance(31_000 + Math.floor(next() * 180_000));
  await h.settle();
}

test(`random runs, approvals, follow-ups, stops and connects through ${CRASH_POINTS}+ crash points and duplicates keep every invariant (seed ${SEED})`, async () => {
  const ops = [run, run, decide, decide, decide, followUp, stop, connect, timePasses];
  for (let step = 0; counts.crashPoints < CRASH_POINTS; step += 1) {
    await pick(ops)(step);
  }
  // Time passes until nothing is left to do: undecided calls expire, sweeps finish what was left.
  for (let minute = 0; minute < 20; minute += 1) {
    h.clock.advance(30_000);
    await h.settle();
    h.clock.advance(30_000);
    await h.settle();
  }

  const ma = h.sandbox.managedAgents;
  const sessions = ma.sessions();
  // At most one session per run.
  const perIntent = new Map<string, number>();
  for (const session of sessions) {
    const intent = String(session.metadata?.deputy_intent);
    perIntent.set(intent, (perIntent.get(intent) ?? 0) + 1);
  }
  expect([...perIntent.values()].filter((n) => n > 1)).toEqual([]);
  expect(sessions.length).toBeLessThanOrEqual(counts.runs + 2); // + the harness's own

  // Exactly one confirmation per decided call, none for a call whose approval closed undelivered.
  const confirmations = new Map<string, number>();
  for (const session of sessions) {
    for (const event of ma.events(session.id)) {
      if (event.type === 'user.tool_confirmation')
        confirmations.set(event.tool_use_id, (confirmations.get(event.tool_use_id) ?? 0) + 1);
    }
  }
  expect([...confirmations.entries()].filter(([, n]) => n > 1)).toEqual([]);
  const approvals = (await Promise.all(sessions.map((s) => h.store.approvals.forSession(s.id)))).flat();
  for (const approval of approvals) {
    const sent = confirmations.get(approval.toolUseId) ?? 0;
    if (approval.deliveredAt)
      expect({ approval: approval.approvalId, sent }).toEqual({ approval: approval.approvalId, sent: 1 });
    if (approval.status === 'closed')
      expect({ approval: approval.approvalId, sent }).toEqual({ approval: approval.approvalId, sent: 0 });
  }
  // No decision lost: every decision reached its session, or closed because the session stopped waiting.
  expect(approvals.filter(awaitsDelivery).map((a) => a.approvalId)).toEqual([]);
  expect(approvals.filter((a) => a.status === 'pending').map((a) => a.approvalId)).toEqual([]);
  expect(await h.store.approvals.open()).toEqual([]);

  // No credential revoked that sits in a vault.
  const notion = h.sandbox.providers.notion;
  const active = ma.credentials().filter((c) => !c.archived_at);
  for (const credential of active) {
    const token = ma.credentialSecrets(credential.id)?.access_token ?? '';
    expect({ credential: credential.id, revoked: notion.tokenRevoked(token) }).toEqual({
      credential: credential.id,
      revoked: false,
    });
  }
  for (const { userId } of USERS) {
    const vaultId = await vaultIdOf(h, userId);
    expect(active.filter((c) => c.vault_id === vaultId)).toHaveLength(1);
  }

  // What it went through, so a change in coverage shows.
  process.stdout.write(
    `randomized faults (seed ${SEED}): ${JSON.stringify({ ...counts, sessions: sessions.length, approvals: approvals.length })}\n`,
  );
  expect(counts.crashPoints).toBeGreaterThanOrEqual(CRASH_POINTS);
}, 600_000);
