import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Harness, openHome } from '../support/harness.js';
import { agentAnswers, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 20, item 2: a session is one click away: the reply that it started links to its thread, and
 * `/agent sessions` shows each session's agent, true state and prompt, linked to its thread.
 */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
});
afterAll(() => h.close());

/** The link Slack gives a message (chat.getPermalink's form). */
const permalinkOf = (channelId: string, ts: string) =>
  `https://${h.sandbox.slack.teamDomain}.slack.com/archives/${channelId}/p${ts.replace('.', '')}`;

test('the reply that a run started is replaced, once its thread exists, by one that links to the thread', async () => {
  const sent = await h.driver.command('U_ALICE', 'run --agent reader search the launch notes', {
    channelId: 'C_GENERAL',
  });
  await h.settle();
  const [session] = await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 1);
  if (!session) throw new Error('no session');
  const link = permalinkOf(session.dmChannelId, session.threadTs);
  expect(session.permalink).toBe(link);
  const replies = h.sandbox.slack.calls.filter(
    (c) => c.method === 'response_url' && c.body.url === sent.responseUrl,
  );
  expect(replies.at(-1)?.body).toMatchObject({
    replace_original: true,
    text: `Started reader. Follow along in <${link}|your DM with me>; the result can be shared here when it is done.`,
  });
});

test('/agent sessions shows each session with its agent, what it is doing or how it ended, and its prompt linked to its thread', async () => {
  const { session: waiting } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Plans');
  const { session: declined } = await runAgent(h, 'U_ALICE', '--agent reader refuse');
  if (!waiting || !declined) throw new Error('no session');
  const listed = await agentAnswers(h, 'U_ALICE', 'sessions');
  expect(listed).toContain(
    `*asker* · waiting for your decision · <${waiting.permalink}|create a page titled Plans>`,
  );
  expect(listed).toContain(`*reader* · declined · <${declined.permalink}|refuse>`);
  expect(listed).toMatch(/\*reader\* · done · <https:\/\/[^|]+\|search the launch notes>/);
  // No raw thread timestamps, and nothing of anyone else's.
  expect(listed).not.toMatch(/thread \d+\.\d+/);
  expect(await agentAnswers(h, 'U_BOB', 'sessions')).toContain('You have no sessions yet');
});

test("the Home tab shows the person's agents with Run, their waiting calls and recent sessions linked; Run starts a session once", async () => {
  const home = await openHome(h, 'U_ALICE');
  expect(home).toContain('Agents you can run');
  expect(home).toContain('"action_id":"home_run_agent"');
  const waiting = (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)).find(
    (s) => s.status === 'waiting',
  );
  expect(home).toContain(`\`notion.create_page\` for *asker* · <${waiting?.permalink}|decide in its thread>`);
  expect(home).toContain('Your recent sessions');
  expect(home).toMatch(/\*reader\* · declined · <https:[^|]+\|refuse>/);
  // Bob's Home has none of Alice's.
  const bobs = await openHome(h, 'U_BOB');
  expect(bobs).toContain('_No sessions yet._');
  expect(bobs).not.toContain('create a page titled Plans');

  const before = h.sandbox.managedAgents.sessions().length;
  await h.driver.blockAction('U_ALICE', { actionId: 'home_run_agent', value: 'reader' });
  const modal = await h.sandbox.slack.waitFor('views.open', (c) =>
    JSON.stringify(c.body.view).includes('"callback_id":"home_run"'),
  );
  expect(JSON.stringify(modal.body.view)).toContain('*reader* runs as you');
  const viewId = (modal.response as { view?: { id?: string } }).view?.id ?? '';
  const submit = () =>
    h.driver.viewSubmission('U_ALICE', {
      callbackId: 'home_run',
      viewId,
      stateValues: { run_prompt: { value: { type: 'plain_text_input', value: 'search from home' } } },
    });
  await submit();
  await h.settle();
  await submit();
  await h.settle();
  expect(h.sandbox.managedAgents.sessions().length).toBe(before + 1);
  const started = (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)).find(
    (s) => s.prompt === 'search from home',
  );
  expect(started?.channelId).toBe(h.sandbox.slack.dmChannelId('U_ALICE'));
  // The Home tab she ran it from lists it, linked, without being opened again.
  expect(JSON.stringify(h.sandbox.slack.homeView('U_ALICE')?.blocks)).toContain(
    `<${started?.permalink}|search from home>`,
  );
});
