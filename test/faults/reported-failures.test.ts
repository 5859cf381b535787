import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { DELIVERY_LEASE_MS } from '../../src/sessions/approvals.js';
import type { SessionRecord } from '../../src/store/index.js';
import type { Harness } from '../support/harness.js';
import { clickInThread, eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * The five failures reported from outside against the sandbox (issue 12), each reproduced as it was
 * tried: a signed request in, the effect counted where the real service would see it.
 */
let h: Harness;
beforeEach(async () => {
  h = await startSessionsHarness();
});
afterEach(() => h.close());

const APPROVAL_TTL_MS = 15 * 60 * 1000;

async function heldSession(title: string): Promise<{ session: SessionRecord; approvalId: string }> {
  const { session } = await runAgent(h, 'U_ALICE', `--agent asker create a page titled ${title}`);
  if (!session) throw new Error('no session');
  const [approval] = await h.store.approvals.forSession(session.sessionId);
  if (!approval?.messageTs) throw new Error('no approval message');
  return { session, approvalId: approval.approvalId };
}

const pagesTitled = (title: string) =>
  h.sandbox.providers.notion.calls.filter(
    (c) => c.tool === 'create_page' && (c.arguments as { title?: string }).title === title,
  );

/** The state a crash leaves between recording a decision and sending it: decided, leased by a dead process. */
const recordedByADeadProcess = (approvalId: string) =>
  h.store.approvals.decide(approvalId, 'allowed', 'U_ALICE', h.clock.now(), {
    owner: 'dlv_dead',
    untilMs: h.clock.now() + DELIVERY_LEASE_MS,
  });

const confirmations = (sessionId: string) => eventsSent(h, sessionId, 'user.tool_confirmation');

async function clickReply(clicked: { responseUrl?: string }): Promise<string> {
  const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === clicked.responseUrl);
  return String(reply.body.text);
}

test('a message event delivered twice (the second with X-Slack-Retry-Num: 1) sends the follow-up once', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent reader search welcome');
  if (!session) throw new Error('no session');
  const first = await h.driver.message('U_ALICE', 'and the archive too', {
    channelId: session.dmChannelId,
    threadTs: session.threadTs,
  });
  expect(first.status).toBe(200);
  const retried = await h.driver.redeliver(first.request, { retryNum: 1, retryReason: 'http_timeout' });
  expect(retried.status).toBe(200);
  await h.settle();
  expect(eventsSent(h, session.sessionId, 'user.message')).toHaveLength(1);
});

test('an approval click whose container is another message (a plain one in #general) is refused and audited (security R30)', async () => {
  const { session, approvalId } = await heldSession('Forged');
  const plain = h.sandbox.slack.postAsUser('U_ALICE', 'C_GENERAL', 'nothing to see here');
  const clicked = await h.driver.blockAction(
    'U_ALICE',
    { actionId: 'session_approve', value: approvalId, type: 'button' },
    { channelId: 'C_GENERAL', messageTs: plain.ts },
  );
  expect(await clickReply(clicked)).toContain('did not come from the message Deputy posted');
  await h.settle();
  expect(confirmations(session.sessionId)).toEqual([]);
  expect(pagesTitled('Forged')).toEqual([]);
  expect((await h.store.approvals.get(approvalId))?.status).toBe('pending');
  const refused = await h.store.audit.byTarget(approvalId);
  expect(refused.map((r) => [r.action, r.principalKey, r.details?.container])).toContainEqual([
    'approval.refused',
    `T:${h.sandbox.slack.teamId}:U_ALICE`,
    `C_GENERAL/${plain.ts}`,
  ]);
});

describe('a decision recorded whose confirmation was never sent (the process died in between)', () => {
  test('the sweep sends it, exactly once', async () => {
    const { session, approvalId } = await heldSession('Swept');
    expect(await recordedByADeadProcess(approvalId)).toBe(true);
    h.clock.advance(2 * 60 * 1000);
    await h.settle();
    h.clock.advance(2 * 60 * 1000);
    await h.settle();
    expect(confirmations(session.sessionId).map((r) => r.body)).toEqual([
      { events: [expect.objectContaining({ type: 'user.tool_confirmation', result: 'allow' })] },
    ]);
    expect(pagesTitled('Swept')).toHaveLength(1);
  });

  test('the owner’s next click is told it is on its way, not “already decided”, and it arrives once', async () => {
    const { session, approvalId } = await heldSession('Clicked');
    expect(await recordedByADeadProcess(approvalId)).toBe(true);
    const approval = await h.store.approvals.get(approvalId);
    const clicked = await clickInThread(
      h,
      'U_ALICE',
      { actionId: 'session_approve', value: approvalId },
      { channelId: session.dmChannelId, messageTs: approval?.messageTs, threadTs: session.threadTs },
    );
    expect(clicked).toContain('will reach the agent');
    h.clock.advance(DELIVERY_LEASE_MS);
    await h.settle();
    expect(confirmations(session.sessionId)).toHaveLength(1);
    expect(pagesTitled('Clicked')).toHaveLength(1);
  });
});

test('Share clicked twice posts once, and Stop clicked twice interrupts once', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent reader search welcome');
  if (!session) throw new Error('no session');
  const root = { channelId: session.dmChannelId, messageTs: session.threadTs };
  const share = () =>
    h.driver.blockAction('U_ALICE', { actionId: 'session_share', value: session.sessionId }, root);
  await Promise.all([share(), share()]);
  await h.settle();
  const posts = h.sandbox.slack
    .callsTo('chat.postMessage')
    .filter((c) => c.body.channel === 'C_GENERAL' && String(c.body.text).includes('shared a result'));
  expect(posts).toHaveLength(1);

  const held = await heldSession('Stopped twice');
  const heldRoot = { channelId: held.session.dmChannelId, messageTs: held.session.threadTs };
  const stop = () =>
    h.driver.blockAction('U_ALICE', { actionId: 'session_stop', value: held.session.sessionId }, heldRoot);
  await Promise.all([stop(), stop()]);
  await h.settle();
  expect(eventsSent(h, held.session.sessionId, 'user.interrupt')).toHaveLength(1);
});

test('a session stopped while an approval is pending closes the card once, and the expiry sends nothing', async () => {
  const { session, approvalId } = await heldSession('Abandoned');
  const approval = await h.store.approvals.get(approvalId);
  const root = { channelId: session.dmChannelId, messageTs: session.threadTs };
  await h.driver.blockAction('U_ALICE', { actionId: 'session_stop', value: session.sessionId }, root);
  await h.settle();
  const card = h.sandbox.slack.callsTo('chat.update').filter((c) => c.body.ts === approval?.messageTs);
  expect(card.map((c) => String(c.body.text))).toEqual([expect.stringMatching(/no longer waiting/i)]);
  expect(await h.store.approvals.get(approvalId)).toMatchObject({ status: 'closed' });

  const late = await clickInThread(
    h,
    'U_ALICE',
    { actionId: 'session_approve', value: approvalId },
    { channelId: session.dmChannelId, messageTs: approval?.messageTs, threadTs: session.threadTs },
  );
  expect(late).toContain('no longer waiting');

  const auditedBefore = (await h.store.audit.byTarget(approval?.toolUseId ?? '')).length;
  for (let minute = 0; minute < 20; minute += 1) {
    h.clock.advance(APPROVAL_TTL_MS / 15);
    await h.settle();
  }
  expect(confirmations(session.sessionId)).toEqual([]);
  expect(pagesTitled('Abandoned')).toEqual([]);
  expect((await h.store.audit.byTarget(approval?.toolUseId ?? '')).length).toBe(auditedBefore);
  expect(
    h.sandbox.slack.callsTo('chat.update').filter((c) => c.body.ts === approval?.messageTs),
  ).toHaveLength(1);
});
