import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { DELIVERY_LEASE_MS } from '../../src/sessions/approvals.js';
import { NODE_TTL_MS } from '../../src/sessions/relay.js';
import type { SessionRecord } from '../../src/store/index.js';
import type { Harness } from '../support/harness.js';
import { startReplica } from '../support/replica.js';
import { runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Managed Agents misbehaving around sessions: down, answering 5xx, losing answers to calls it
 * carried out, two replicas racing. Each test counts what reached the API (the emulator's event
 * log, its sessions) and what the person's account saw (the provider's calls): nothing lost, nothing
 * doubled.
 */
let h: Harness;
beforeEach(async () => {
  h = await startSessionsHarness();
});
afterEach(() => h.close());

/** Moves the clock in one-second steps, letting Deputy's work settle after each (its retries sleep on it). */
async function passTime(ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 1000) {
    h.clock.advance(1000);
    await h.settle();
  }
}

const sessionsAt = () => h.sandbox.managedAgents.sessions();
const eventsOf = (sessionId: string, type: string) =>
  h.sandbox.managedAgents.events(sessionId).filter((e) => e.type === type);
const pagesTitled = (title: string) =>
  h.sandbox.providers.notion.calls.filter(
    (c) => c.tool === 'create_page' && (c.arguments as { title?: string }).title === title,
  );

async function reply(sent: { responseUrl: string }, text: string): Promise<void> {
  await h.sandbox.slack.waitFor(
    'response_url',
    (c) => c.body.url === sent.responseUrl && JSON.stringify(c.body).includes(text),
  );
}

async function heldSession(
  title: string,
): Promise<{ session: SessionRecord; approvalId: string; card: string }> {
  const { session } = await runAgent(h, 'U_ALICE', `--agent asker create a page titled ${title}`);
  if (!session) throw new Error('no session');
  const [approval] = await h.store.approvals.forSession(session.sessionId);
  if (!approval?.messageTs) throw new Error('no approval message');
  return { session, approvalId: approval.approvalId, card: approval.messageTs };
}

test('Managed Agents answering 503 to session create, then recovering: one session starts', async () => {
  h.sandbox.managedAgents.failAt('session.create', { status: 503, times: 2 });
  const before = sessionsAt().length;
  const sent = await h.driver.command('U_ALICE', 'run --agent reader search flaky', {
    channelId: 'C_GENERAL',
  });
  await passTime(5000);
  await reply(sent, 'Started reader');
  expect(sessionsAt().length).toBe(before + 1);
});

test('Managed Agents down during /agent run: the person is told, and running again starts exactly one', async () => {
  const down = h.sandbox.managedAgents.failAt('session.create', { status: 503, times: 1000 });
  const before = sessionsAt().length;
  const failed = await h.driver.command('U_ALICE', 'run --agent reader search outage', {
    channelId: 'C_GENERAL',
  });
  await passTime(10_000);
  await reply(failed, 'Something went wrong');
  expect(sessionsAt().length).toBe(before);
  expect(
    (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)).map((s) => s.prompt),
  ).not.toContain('search outage');

  down.clear();
  const again = await h.driver.command('U_ALICE', 'run --agent reader search outage', {
    channelId: 'C_GENERAL',
  });
  await h.settle();
  await reply(again, 'Started reader');
  expect(sessionsAt().length).toBe(before + 1);
});

test('a lost answer to session create: the session is found by its intent, not made twice', async () => {
  h.sandbox.managedAgents.failAt('session.create', { afterHandling: true, drop: true });
  const before = sessionsAt().length;
  const { reply: answer, session } = await runAgent(h, 'U_ALICE', '--agent reader search dropped create');
  expect(answer).toContain('Started reader');
  expect(sessionsAt().length).toBe(before + 1);
  expect(eventsOf(session?.sessionId ?? '', 'agent.message')).toHaveLength(1);
});

test('a lost answer to session create while 250 other sessions of the agent start: still found by its intent, not made twice', async () => {
  const frozen = h.sandbox.managedAgents.failAt('session.create', {
    afterHandling: true,
    hang: true,
    drop: true,
  });
  const sent = h.driver.command('U_ALICE', 'run --agent reader search lost among many', {
    channelId: 'C_GENERAL',
  });
  await frozen.reached;
  const mine = sessionsAt().filter((s) => s.metadata?.deputy_principal?.endsWith(':U_ALICE')).length;
  // The organisation starts 250 sessions of the same agent before the lost answer is looked into.
  const agent = await h.store.agents.get('reader');
  const [environment] = (await h.anthropic.beta.environments.list()).data;
  if (!agent || !environment) throw new Error('no agent or environment');
  for (let i = 0; i < 250; i += 1) {
    await h.anthropic.beta.sessions.create({
      agent: { type: 'agent', id: agent.agentId, version: agent.agentVersion },
      environment_id: environment.id,
    });
  }
  frozen.release();
  await sent;
  await h.settle();
  expect(sessionsAt().filter((s) => s.metadata?.deputy_principal?.endsWith(':U_ALICE')).length).toBe(mine);
  const recorded = (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)).filter(
    (s) => s.prompt === 'search lost among many',
  );
  expect(recorded).toHaveLength(1);
});

test('a lost answer to a follow-up (user.message): it reaches the agent once', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent reader search welcome');
  if (!session) throw new Error('no session');
  h.sandbox.managedAgents.failAt('session.events.send', { afterHandling: true, drop: true });
  await h.driver.message('U_ALICE', 'search the archive too', {
    channelId: session.dmChannelId,
    threadTs: session.threadTs,
  });
  await h.settle();
  const followUps = eventsOf(session.sessionId, 'user.message').filter((e) =>
    JSON.stringify(e).includes('search the archive too'),
  );
  expect(followUps).toHaveLength(1);
  expect(eventsOf(session.sessionId, 'agent.message')).toHaveLength(2);
});

test('a lost answer to a confirmation: exactly one reaches the session, and the write runs once', async () => {
  const { session, approvalId, card } = await heldSession('Confirmed once');
  h.sandbox.managedAgents.failAt('session.events.send', { afterHandling: true, drop: true });
  await h.driver.blockAction(
    'U_ALICE',
    { actionId: 'session_approve', value: approvalId },
    { channelId: session.dmChannelId, messageTs: card },
  );
  await h.settle();
  expect(eventsOf(session.sessionId, 'user.tool_confirmation')).toHaveLength(1);
  expect(pagesTitled('Confirmed once')).toHaveLength(1);
  expect(await h.store.approvals.get(approvalId)).toMatchObject({
    status: 'allowed',
    deliveredAt: expect.any(String),
  });
  const update = h.sandbox.slack.callsTo('chat.update').filter((c) => c.body.ts === card);
  expect(update.map((c) => String(c.body.text))).toEqual([expect.stringContaining('Approved by <@U_ALICE>')]);
});

test('the same approval decided from two replicas at once: one decision, one confirmation', async () => {
  const { session, approvalId, card } = await heldSession('Raced');
  const replica = await startReplica(h);
  try {
    const where = { channelId: session.dmChannelId, messageTs: card };
    await Promise.all([
      h.driver.blockAction('U_ALICE', { actionId: 'session_approve', value: approvalId }, where),
      replica.driver.blockAction('U_ALICE', { actionId: 'session_deny', value: approvalId }, where),
    ]);
    await h.settle();
    await h.settle(replica.services);
    const [confirmation, ...more] = eventsOf(session.sessionId, 'user.tool_confirmation');
    expect(more).toEqual([]);
    const decided = await h.store.approvals.get(approvalId);
    expect(confirmation).toMatchObject({ result: decided?.status === 'allowed' ? 'allow' : 'deny' });
    expect(pagesTitled('Raced')).toHaveLength(decided?.status === 'allowed' ? 1 : 0);
  } finally {
    await replica.close();
  }
});

test('a crash between recording a decision and sending it: the sweep delivers it once, after the lease', async () => {
  const { session, approvalId } = await heldSession('Recovered');
  // What the crash leaves: the decision recorded, its delivery leased to the process that died.
  await h.store.approvals.decide(approvalId, 'allowed', 'U_ALICE', h.clock.now(), {
    owner: 'dlv_dead',
    untilMs: h.clock.now() + DELIVERY_LEASE_MS,
  });
  await passTime(DELIVERY_LEASE_MS - 1000);
  expect(eventsOf(session.sessionId, 'user.tool_confirmation')).toEqual([]);
  await passTime(31_000);
  expect(eventsOf(session.sessionId, 'user.tool_confirmation')).toHaveLength(1);
  expect(pagesTitled('Recovered')).toHaveLength(1);
  const audited = (
    await h.store.audit.byTarget((await h.store.approvals.get(approvalId))?.toolUseId ?? '')
  ).filter((r) => r.action === 'approval.decided');
  expect(audited).toHaveLength(1);
});

describe('a process that dies while starting a session (each start frozen at session create)', () => {
  const prompt = 'search frozen start';
  const aliceRoots = () =>
    h.sandbox.slack
      .messages(h.sandbox.slack.dmChannelId('U_ALICE'))
      .filter((m) => (m.thread_ts ?? m.ts) === m.ts && String(m.text).startsWith('Agent reader'));

  test('a crash between creating a session and writing its row: the sweep opens that session, once', async () => {
    const frozen = h.sandbox.managedAgents.failAt('session.create', { afterHandling: true, hang: true });
    const rootsBefore = aliceRoots().length;
    const sent = await h.driver.command('U_ALICE', `run --agent reader ${prompt}`, {
      channelId: 'C_GENERAL',
    });
    await frozen.reached;
    const made = sessionsAt().filter((s) => s.metadata?.deputy_principal?.endsWith(':U_ALICE'));
    // The start's lease lapses; the sweep finds the session by its intent and opens it.
    h.clock.advance(2 * 60 * 1000 + 30_000);
    await h.sandbox.slack.waitFor('chat.postMessage', () => aliceRoots().length > rootsBefore);
    // The frozen process wakes to a lost answer, finds its start taken over, and opens nothing.
    frozen.release();
    await h.settle();
    expect(sessionsAt().filter((s) => s.metadata?.deputy_principal?.endsWith(':U_ALICE'))).toHaveLength(
      made.length,
    );
    expect(aliceRoots().length).toBe(rootsBefore + 1);
    const [record, ...more] = (
      await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)
    ).filter((s) => s.prompt === prompt);
    expect(more).toEqual([]);
    expect(eventsOf(record?.sessionId ?? '', 'agent.message')).toHaveLength(1);
    const created = (await h.store.audit.byTarget(record?.sessionId ?? '')).filter(
      (r) => r.action === 'session.created',
    );
    expect(created).toHaveLength(1);
    expect(h.sandbox.slack.callsTo('response_url').some((c) => c.body.url === sent.responseUrl)).toBe(true);
  });

  test('someone suspended while their start was frozen: the session the sweep opens is stopped at once', async () => {
    const frozen = h.sandbox.managedAgents.failAt('session.create', { afterHandling: true, hang: true });
    await h.driver.command('U_ALICE', 'run --agent reader create a page titled Frozen then suspended', {
      channelId: 'C_GENERAL',
    });
    await frozen.reached;
    // The suspension's stop runs while the session exists at Anthropic but not yet in Deputy's store.
    const rootsBefore = aliceRoots().length;
    const suspended = await h.driver.command('U_ADMIN', 'suspend <@U_ALICE>');
    expect(suspended.status).toBe(200);
    await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === suspended.responseUrl);
    try {
      // The start's lease lapses; the sweep finds the session by its intent and opens it.
      h.clock.advance(2 * 60 * 1000 + 30_000);
      await h.sandbox.slack.waitFor('chat.postMessage', () => aliceRoots().length > rootsBefore);
      frozen.release();
      await h.settle();
      const [record] = (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)).filter(
        (r) => r.prompt === 'create a page titled Frozen then suspended',
      );
      if (!record) throw new Error('the sweep opened no session');
      expect(eventsOf(record.sessionId, 'user.interrupt')).toHaveLength(1);
    } finally {
      await h.driver.command('U_ADMIN', 'resume <@U_ALICE>');
      await h.settle();
    }
  });

  test('a crash before the create reached Managed Agents: no session, the person told once, and none made later', async () => {
    const frozen = h.sandbox.managedAgents.failAt('session.create', { hang: true });
    const before = sessionsAt().length;
    await h.driver.command('U_ALICE', `run --agent reader ${prompt}`, { channelId: 'C_GENERAL' });
    await frozen.reached;
    h.clock.advance(2 * 60 * 1000 + 30_000);
    const told = await h.sandbox.slack.waitFor('chat.postMessage', (c) =>
      String(c.body.text).includes('did not start'),
    );
    expect(String(told.body.text)).toContain('reader');
    frozen.release();
    await passTime(10_000);
    expect(sessionsAt().length).toBe(before);
    expect(
      h.sandbox.slack
        .callsTo('chat.postMessage')
        .filter((c) => String(c.body.text).includes('did not start')),
    ).toHaveLength(1);
  });
});

test('a replica that dies relaying a session (no clean shutdown): another adopts it once its heartbeat lapses, nothing missed', async () => {
  const { session, approvalId, card } = await heldSession('Adopted');
  // A process that claimed the session dies: its heartbeat is not renewed, and its claim stays.
  await h.services.relays.close();
  await h.store.relayIndex.heartbeat('node_dead', h.clock.now() + NODE_TTL_MS);
  await h.store.relayIndex.claim(session.sessionId, 'node_dead');
  const replica = await startReplica(h);
  try {
    await replica.services.approvals.decide(
      approvalId,
      { teamId: h.sandbox.slack.teamId, userId: 'U_ALICE' },
      'allow',
      'test',
      { channelId: session.dmChannelId, messageTs: card },
    );
    await h.sandbox.managedAgents.settled(session.sessionId);
    // The replica's decision asked for a relay; the dead one's claim holds it off until its heartbeat lapses.
    expect(replica.services.relays.isRelaying(session.sessionId)).toBe(false);
    h.clock.advance(31_000);
    await h.settle(replica.services);
    const texts = h.sandbox.slack
      .messages(session.dmChannelId)
      .filter((m) => m.thread_ts === session.threadTs && m.ts !== session.threadTs)
      .map((m) => String(m.text));
    expect(texts.filter((t) => t.includes('Created "Adopted"'))).toHaveLength(1);
    expect((await h.store.sessions.get(session.sessionId))?.status).toBe('idle');
  } finally {
    await replica.close();
  }
});

test('a follow-up queued while the agent works (sent through another replica) is relayed, not skipped', async () => {
  const { session, approvalId, card } = await heldSession('Queued');
  const replica = await startReplica(h);
  try {
    // Alice writes while the agent waits for her decision; another replica takes her message.
    await replica.driver.message('U_ALICE', 'and search the archive afterwards', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    await replica.services.work.settled();
    await h.settle();
    const queued = eventsOf(session.sessionId, 'user.message').at(-1);
    expect(queued).toMatchObject({ processed_at: null });
    // She approves, through that replica too; the turn ends, and the queued message starts the next.
    await replica.driver.blockAction(
      'U_ALICE',
      { actionId: 'session_approve', value: approvalId },
      { channelId: session.dmChannelId, messageTs: card },
    );
    await replica.services.work.settled();
    await h.settle();
    const answers = eventsOf(session.sessionId, 'agent.message');
    expect(answers).toHaveLength(2);
    const thread = h.sandbox.slack
      .messages(session.dmChannelId)
      .filter((m) => m.thread_ts === session.threadTs)
      .map((m) => String(m.text));
    for (const answer of answers) {
      const text =
        answer.type === 'agent.message'
          ? answer.content.map((b) => ('text' in b ? b.text : '')).join('')
          : '';
      expect(thread.filter((t) => t === text)).toHaveLength(1);
    }
    expect((await h.store.sessions.get(session.sessionId))?.cursor).toBe(
      h.sandbox.managedAgents.events(session.sessionId).at(-1)?.id,
    );
  } finally {
    await replica.close();
  }
});
