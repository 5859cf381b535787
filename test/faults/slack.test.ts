import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { type Harness, letTimePass } from '../support/harness.js';
import { runAgent, startSessionsHarness, threadMessages } from '../support/sessions.js';

/**
 * Slack misbehaving: retrying a delivery whose first attempt is still being handled, answering 429
 * while Deputy writes, and a clock far enough off that signatures no longer verify. Nothing lost,
 * nothing doubled.
 */
let h: Harness;
beforeEach(async () => {
  h = await startSessionsHarness();
});
afterEach(() => h.close());

const ALICE = () => `T:${h.sandbox.slack.teamId}:U_ALICE`;

test('a Slack retry while the first delivery is still running (security R4): one session, one reply, one audit trail', async () => {
  // The first delivery stalls inside its work: session create does not answer until released.
  const stalled = h.sandbox.managedAgents.failAt('session.create', { hang: true, status: 500 });
  const before = h.sandbox.managedAgents.sessions().length;
  const first = await h.driver.command('U_ALICE', 'run --agent reader search stalled', {
    channelId: 'C_GENERAL',
  });
  await stalled.reached;
  const retried = await h.driver.redeliver(first.request, { retryNum: 1, retryReason: 'http_timeout' });
  expect(retried.status).toBe(200);
  expect(retried.text).toBe('');
  // The stalled create fails after all; its reconciliation and retry start the session once.
  stalled.release();
  for (let i = 0; i < 5; i += 1) {
    h.clock.advance(1000);
    await h.settle();
  }
  const replies = h.sandbox.slack.callsTo('response_url').filter((c) => c.body.url === first.responseUrl);
  // One answer that it started, then that answer replaced by one linking to its thread.
  expect(replies.map((c) => c.body)).toEqual([
    expect.objectContaining({ replace_original: false, text: expect.stringContaining('Started reader') }),
    expect.objectContaining({ replace_original: true, text: expect.stringContaining('Started reader') }),
  ]);
  expect(h.sandbox.managedAgents.sessions().length).toBe(before + 1);
  const trail = (await h.store.audit.byPrincipal(ALICE()))
    .map((r) => r.action)
    .filter((a) => a.startsWith('session.'));
  expect(trail.filter((a) => a === 'session.requested')).toHaveLength(1);
  expect(trail.filter((a) => a === 'session.created')).toHaveLength(1);
});

test('Slack answering 429 while a relay posts: every message arrives once, in order', async () => {
  h.sandbox.slack.injectError('chat.postMessage', { error: 'ratelimited', retryAfterSeconds: 1 });
  // The refused post waits out its Retry-After on the clock, then goes again in its place.
  const { session } = await letTimePass(h, runAgent(h, 'U_ALICE', '--agent reader search rate limited'));
  if (!session) throw new Error('no session');
  await letTimePass(h, h.settle());
  expect(h.sandbox.slack.callsTo('chat.postMessage').some((c) => c.status === 429)).toBe(true);
  const agentSaid = h.sandbox.managedAgents
    .events(session.sessionId)
    .flatMap((e) => (e.type === 'agent.message' ? e.content.map((b) => ('text' in b ? b.text : '')) : []));
  expect(agentSaid).toHaveLength(1);
  // The thread, oldest first: the progress line, then the agent's answer, each once.
  const texts = threadMessages(h, session).map((m) => String(m.text));
  expect(texts).toEqual([expect.stringContaining('notion.search'), agentSaid[0]]);
  expect(h.sandbox.slack.messages(session.dmChannelId).filter((m) => m.ts === session.threadTs)).toHaveLength(
    1,
  );
});

test('a clock 301 s off: signed requests are refused (security R2) and change nothing; on time again, handled once', async () => {
  const before = h.sandbox.managedAgents.sessions().length;
  const skewed = Math.floor(h.clock.now() / 1000) - 301;
  const refused = await h.driver.command('U_ALICE', 'run --agent reader search skewed', {
    channelId: 'C_GENERAL',
    timestampSeconds: skewed,
  });
  expect(refused.status).toBe(401);
  const ahead = await h.driver.redeliver(refused.request, {
    retryNum: 1,
    retryReason: 'http_error',
    timestampSeconds: skewed + 602,
  });
  expect(ahead.status).toBe(401);
  await h.settle();
  expect(h.sandbox.managedAgents.sessions().length).toBe(before);
  expect(h.sandbox.slack.callsTo('response_url').filter((c) => c.body.url === refused.responseUrl)).toEqual(
    [],
  );
  // Refused deliveries were never taken: Slack's next retry, signed on time, is handled, once.
  const onTime = await h.driver.redeliver(refused.request, { retryNum: 2, retryReason: 'http_error' });
  expect(onTime.status).toBe(200);
  await h.settle();
  expect(h.sandbox.managedAgents.sessions().length).toBe(before + 1);
  const refusals = (await h.store.audit.byTarget('/slack/events')).filter(
    (r) => r.action === 'slack.signature_refused',
  );
  expect(refusals).toHaveLength(2);
});

test('the same click delivered twice (security R3): the second is acknowledged and does nothing', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Clicked twice');
  if (!session) throw new Error('no session');
  const root = { channelId: session.dmChannelId, messageTs: session.threadTs };
  const first = await h.driver.blockAction(
    'U_ALICE',
    { actionId: 'session_stop', value: session.sessionId },
    root,
  );
  const again = await h.driver.redeliver(first.request, { retryNum: 1, retryReason: 'http_timeout' });
  expect(again.status).toBe(200);
  await h.settle();
  // Answered once, in the thread of the root clicked.
  const replies = h.sandbox.slack
    .callsTo('chat.postEphemeral')
    .filter((c) => c.body.user === 'U_ALICE' && c.body.thread_ts === session.threadTs);
  expect(replies.map((c) => c.body.text)).toEqual(['Stopping the agent.']);
  expect(
    h.sandbox.managedAgents.events(session.sessionId).filter((e) => e.type === 'user.interrupt'),
  ).toHaveLength(1);
});
