import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Harness, openHome as openHomeOf } from '../support/harness.js';
import { agentAnswers, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 18, item 5: the admin section of the Home tab shows recent sessions of everyone, the calls
 * waiting for a decision, recent refusals and lifecycle events; nobody else sees any of it.
 */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
});
afterAll(() => h.close());

const openHome = (userId: string) => openHomeOf(h, userId);

test('admins see everyone’s sessions, waiting calls, refusals and lifecycle events; others see none of it', async () => {
  const { session: waiting } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Pending');
  const { session: done } = await runAgent(h, 'U_BOB', '--agent reader search the home tab');
  if (!waiting || !done) throw new Error('no session');
  const [approval] = await h.store.approvals.forSession(waiting.sessionId);
  // Bob clicks Approve on Alice's call: refused, and that refusal is what admins see.
  await h.driver.blockAction(
    'U_BOB',
    { actionId: 'session_approve', value: approval?.approvalId },
    { channelId: waiting.dmChannelId, messageTs: approval?.messageTs },
  );
  expect(await agentAnswers(h, 'U_ADMIN', 'suspend @bob')).toContain('Suspended <@U_BOB>');
  expect(await agentAnswers(h, 'U_ADMIN', 'resume @bob')).toContain('Resumed <@U_BOB>');

  const home = await openHome('U_ADMIN');
  const section = (title: string) => {
    const blocks = (h.sandbox.slack.homeView('U_ADMIN')?.blocks ?? []) as Array<{ text?: { text?: string } }>;
    return String(blocks.find((b) => b.text?.text?.startsWith(`*${title}`))?.text?.text);
  };
  expect(home).toContain('Admin: activity');
  // Sessions of both people, with their agent and their true status.
  expect(section('Recent sessions')).toContain('<@U_ALICE> ran *asker* · waiting');
  expect(section('Recent sessions')).toMatch(/<@U_BOB> ran \*reader\* · (idle|done)/);
  expect(section('Waiting for a decision')).toContain('`notion.create_page` for <@U_ALICE>');
  expect(section('Recent refusals')).toContain('`approval.refused` (refused) · <@U_BOB>');
  expect(section('People, connections and agents')).toContain('`person.suspended` · <@U_ADMIN>');

  // Someone who is not an admin sees their connections and nothing of the trail; opening it records nothing.
  const refusalsBefore = (await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`)).length;
  const bobs = await openHome('U_BOB');
  expect(bobs).toContain('Your connections');
  expect(bobs).not.toContain('Admin: activity');
  expect(bobs).not.toContain('U_ALICE');
  expect((await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`)).length).toBe(refusalsBefore);
});

test('a decided call leaves the waiting list', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Decided');
  if (!session) throw new Error('no session');
  const approvals = await h.store.approvals.forSession(session.sessionId);
  const [approval] = approvals;
  const waitingCalls = (home: string) => home.match(/notion\.create_page` for/g)?.length ?? 0;
  expect(waitingCalls(await openHome('U_ADMIN'))).toBe(2);
  await h.driver.blockAction(
    'U_ALICE',
    { actionId: 'session_deny', value: approval?.approvalId },
    { channelId: session.dmChannelId, messageTs: approval?.messageTs },
  );
  await h.settle();
  // Only the first test's call still waits.
  expect(waitingCalls(await openHome('U_ADMIN'))).toBe(1);
});
