import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Harness } from '../support/harness.js';
import { eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 15, item 6: sessions are archived at Anthropic once they have rested a week after their last
 * turn (read-only there, out of its session lists), and purged later at DEPUTY_RETENTION_DAYS.
 */

let h: Harness;
const DAY = 86_400_000;

beforeAll(async () => {
  h = await startSessionsHarness({ environment: { DEPUTY_RETENTION_DAYS: '30' } });
}, 60_000);
afterAll(() => h.close());

async function later(ms: number): Promise<void> {
  h.clock.advance(ms);
  await h.settle();
}

test('a session rested a week is archived at Anthropic; one used since waits a week from its last turn; a reply to an archived one is answered privately', async () => {
  const { session: quiet } = await runAgent(h, 'U_ALICE', '--agent reader search quiet plans');
  const { session: busy } = await runAgent(h, 'U_BOB', '--agent reader search busy plans');
  if (!quiet || !busy) throw new Error('no session');

  await later(5 * DAY);
  await h.driver.message('U_BOB', 'search welcome', { channelId: busy.dmChannelId, threadTs: busy.threadTs });
  await h.settle();
  await later(2 * DAY + 60_000);

  expect(h.sandbox.managedAgents.session(quiet.sessionId)?.archived_at).not.toBeNull();
  expect((await h.store.sessions.get(quiet.sessionId))?.archivedAt).toBeDefined();
  // Followed up on day 5: it rests until day 12.
  expect(h.sandbox.managedAgents.session(busy.sessionId)?.archived_at).toBeNull();
  expect((await h.store.sessions.get(busy.sessionId))?.archivedAt).toBeUndefined();
  // Archived sessions drop out of the API's lists, so lookups there read fewer.
  const listed = await h.anthropic.beta.sessions.list({ limit: 100 });
  expect(listed.data.map((s) => s.id)).not.toContain(quiet.sessionId);

  const root = h.sandbox.slack.messages(quiet.dmChannelId).find((m) => m.ts === quiet.threadTs);
  expect(String(root?.text)).toContain('archived after resting; start a new run to go on');
  const audit = await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_ALICE`);
  expect(audit.filter((r) => r.action === 'session.archived').map((r) => r.target)).toEqual([
    quiet.sessionId,
  ]);

  const sentBefore = eventsSent(h, quiet.sessionId, 'user.message').length;
  await h.driver.message('U_ALICE', 'anything new?', {
    channelId: quiet.dmChannelId,
    threadTs: quiet.threadTs,
  });
  const answer = await h.sandbox.slack.waitFor('chat.postEphemeral', (c) => c.body.user === 'U_ALICE');
  expect(String(answer.body.text)).toContain('was archived after a week without use');
  expect(eventsSent(h, quiet.sessionId, 'user.message')).toHaveLength(sentBefore);

  await later(5 * DAY);
  expect(h.sandbox.managedAgents.session(busy.sessionId)?.archived_at).not.toBeNull();
  const busyRoot = h.sandbox.slack.messages(busy.dmChannelId).find((m) => m.ts === busy.threadTs);
  expect(String(busyRoot?.text)).toContain('archived after resting');

  // Archived is not purged: the retention period still decides when it is deleted.
  // (In weeks: a sweep catches up at most seven days at a time.)
  for (let week = 0; week < 5; week += 1) await later(7 * DAY);
  expect(await h.store.sessions.get(quiet.sessionId)).toBeUndefined();
  expect(h.sandbox.managedAgents.session(quiet.sessionId)).toBeUndefined();
});

test('a session the platform ended is archived at the next sweep, not a week on', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Ended');
  if (!session) throw new Error('no session');
  h.sandbox.managedAgents.terminateSession(session.sessionId);
  await h.settle();
  expect((await h.store.sessions.get(session.sessionId))?.status).toBe('done');
  await later(60_000);
  expect((await h.store.sessions.get(session.sessionId))?.archivedAt).toBeDefined();
  expect(h.sandbox.managedAgents.session(session.sessionId)?.archived_at).not.toBeNull();
});
