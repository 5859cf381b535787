import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import type { Services } from '../../src/services.js';
import { NODE_TICK_MS, NODE_TTL_MS } from '../../src/sessions/relay.js';
import type { Store } from '../../src/store/index.js';
import { RELAY_SHARDS, shardOf } from '../../src/store/relay-index.js';
import type { Harness } from '../support/harness.js';
import { replicaServices } from '../support/replica.js';
import { runAgent, startSessionsHarness, threadMessages } from '../support/sessions.js';

/**
 * Relays across replicas (issue 17, item 4): shards shared and handed over, a killed node's
 * sessions adopted within the lease period, no refused writes in the steady state, waiting
 * sessions holding no stream, and webhooks waking them (docs/architecture.md#relays).
 */
let h: Harness;
beforeEach(async () => {
  h = await startSessionsHarness();
});
afterEach(async () => {
  await h.close();
});

/** Another replica on its own clock (a clock that stops is a process that was killed). */
const replica = (clock: ManualClock, store: Store = h.store): Services =>
  replicaServices(h, { clock, store });

/** Both clocks move one tick on; each node's tick runs and its work settles. */
async function tick(other: { clock: ManualClock; services: Services }): Promise<void> {
  h.clock.advance(NODE_TICK_MS);
  other.clock.set(h.clock.now());
  await other.services.work.settled();
  await h.services.work.settled();
}

/** The relay index with every write DynamoDB refused counted. */
function countingRefusals(store: Store): { store: Store; refused: () => number } {
  let refused = 0;
  const index = store.relayIndex;
  const counted = (result: unknown) => {
    if (result === false || result === undefined) refused += 1;
    return result;
  };
  const relayIndex = Object.create(index, {
    takeShard: { value: (...a: Parameters<typeof index.takeShard>) => index.takeShard(...a).then(counted) },
    releaseShard: {
      value: (...a: Parameters<typeof index.releaseShard>) => index.releaseShard(...a).then(counted),
    },
    claim: { value: (...a: Parameters<typeof index.claim>) => index.claim(...a).then(counted) },
    release: { value: (...a: Parameters<typeof index.release>) => index.release(...a).then(counted) },
  });
  return { store: Object.create(store, { relayIndex: { value: relayIndex } }), refused: () => refused };
}

describe('relays across replicas (issue 17)', () => {
  test('a second replica gets half the shards at its next ticks; neither writes anything refused in the steady state', async () => {
    // The harness's process joined at start and holds every shard.
    expect(h.services.relays.shards).toHaveLength(RELAY_SHARDS);
    const clock = new ManualClock(h.clock.now());
    const counted = countingRefusals(h.store);
    const other = { clock, services: replica(clock, counted.store) };
    await other.services.relays.start();
    for (let i = 0; i < 3; i += 1) await tick(other);
    const mine = h.services.relays.shards;
    const theirs = other.services.relays.shards;
    expect(mine).toHaveLength(RELAY_SHARDS / 2);
    expect(theirs).toHaveLength(RELAY_SHARDS / 2);
    expect(mine.filter((s) => theirs.includes(s))).toEqual([]);
    // Steady state: sessions run and rest, both nodes tick on, and no write is refused.
    const before = counted.refused();
    await runAgent(h, 'U_ALICE', '--agent reader search steady one');
    for (let i = 0; i < 6; i += 1) await tick(other);
    await runAgent(h, 'U_BOB', '--agent reader search steady two');
    expect(counted.refused() - before).toBe(0);
    await other.services.relays.close();
  });

  test('a killed replica’s session is adopted by the owner of its shard within the lease period, and goes on from its cursor', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Adopted');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    // Another node decides, claims the session and is killed before relaying the decision's turn:
    // its heartbeat stops and its claim stays. Its shards go with it.
    const killed = 'node_killed';
    await h.store.relayIndex.heartbeat(killed, h.clock.now() + NODE_TTL_MS);
    expect(await h.store.relayIndex.claim(session.sessionId, killed, { wake: true })).toBeDefined();
    const shard = shardOf(session.sessionId);
    await h.services.relays.close();
    const clock = new ManualClock(h.clock.now());
    const survivor = { clock, services: replica(clock) };
    await survivor.services.relays.start();
    await h.store.relayIndex.releaseShard(shard, survivor.services.relays.nodeId);
    expect(await h.store.relayIndex.takeShard(shard, killed, undefined)).toBe(true);
    await h.anthropic.beta.sessions.events.send(session.sessionId, {
      events: [{ type: 'user.tool_confirmation', tool_use_id: approval?.toolUseId ?? '', result: 'allow' }],
    });
    await h.sandbox.managedAgents.settled(session.sessionId);
    // While the killed node's heartbeat is fresh, its claim stands.
    expect(survivor.services.relays.isRelaying(session.sessionId)).toBe(false);
    let waitedMs = 0;
    while (!(await relayedCreated(session.sessionId))) {
      if (waitedMs > 30_000) throw new Error('not adopted within the lease period');
      clock.advance(NODE_TICK_MS);
      h.clock.set(clock.now());
      waitedMs += NODE_TICK_MS;
      // Not h.settle: until the claim is taken over, the session's events are relayed by nobody.
      await survivor.services.work.settled();
      await h.sandbox.managedAgents.webhooksSettled();
      await survivor.services.work.settled();
    }
    expect(waitedMs).toBeGreaterThan(NODE_TTL_MS - NODE_TICK_MS);
    expect(waitedMs).toBeLessThanOrEqual(30_000);
    expect(survivor.services.relays.shards).toContain(shard);
    const texts = threadMessages(h, session).map((m) => String(m.text));
    expect(texts.filter((t) => t.includes('Created "Adopted"'))).toHaveLength(1);
    await survivor.services.relays.close();
  });

  test('a session waiting for a decision holds no stream; a decision made outside Deputy is relayed when Managed Agents’ webhook comes', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Woken');
    if (!session) throw new Error('no session');
    expect((await h.store.sessions.get(session.sessionId))?.status).toBe('waiting');
    expect(h.services.relays.isRelaying(session.sessionId)).toBe(false);
    expect(h.sandbox.managedAgents.openStreams()).toBe(0);
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    const delivered = h.sandbox.managedAgents.deliverWebhooksTo({
      url: `${h.url}/webhooks/anthropic`,
      secret: h.sandbox.webhookSigningKey,
    });
    await h.anthropic.beta.sessions.events.send(session.sessionId, {
      events: [{ type: 'user.tool_confirmation', tool_use_id: approval?.toolUseId ?? '', result: 'allow' }],
    });
    await h.settle();
    expect(delivered?.delivered.length).toBeGreaterThan(0);
    const texts = threadMessages(h, session).map((m) => String(m.text));
    expect(texts.filter((t) => t.includes('Created "Woken"'))).toHaveLength(1);
    expect((await h.store.sessions.get(session.sessionId))?.status).toBe('idle');
  });

  test('without the webhook nothing is relayed until the next action wakes the session; then all of it is, once', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Late');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    h.sandbox.managedAgents.deliverWebhooksTo(undefined);
    await h.anthropic.beta.sessions.events.send(session.sessionId, {
      events: [{ type: 'user.tool_confirmation', tool_use_id: approval?.toolUseId ?? '', result: 'allow' }],
    });
    await h.sandbox.managedAgents.settled(session.sessionId);
    await h.services.work.settled();
    expect(await relayedCreated(session.sessionId)).toBe(false);
    // Its owner's next reply wakes it: the turn that was missed is relayed first, once.
    await h.driver.message('U_ALICE', 'and then?', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    await h.settle();
    const texts = threadMessages(h, session).map((m) => String(m.text));
    expect(texts.filter((t) => t.includes('Created "Late"'))).toHaveLength(1);
  });

  async function relayedCreated(sessionId: string): Promise<boolean> {
    const session = await h.store.sessions.get(sessionId);
    if (!session) return false;
    return threadMessages(h, session).some((m) => String(m.text).includes('Created "'));
  }
});
