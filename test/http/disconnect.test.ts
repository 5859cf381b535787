import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { activeCredentials } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import { eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, a disconnect that really disconnects: the credential leaves the vault, the person's live
 * sessions that use the server stop, and a DM confirms it, saying the provider may still honour the
 * token (Deputy keeps no copy of it to revoke).
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
}, 60_000);
afterAll(() => h.close());

test('Disconnect archives the credential, stops the live sessions that use it, and confirms by DM', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Before disconnecting');
  if (!session) throw new Error('no session');
  const { session: bobs } = await runAgent(h, 'U_BOB', '--agent asker create a page titled Bob keeps going');
  if (!bobs) throw new Error('no session');

  await h.driver.command('U_ALICE', 'connect');
  await h.settle();
  const clicked = await h.driver.blockAction('U_ALICE', { actionId: 'connect_disconnect', value: 'notion' });
  expect(clicked.status).toBe(200);
  await h.settle();

  expect(activeCredentials(h, await vaultIdOf(h, 'U_ALICE'))).toEqual([]);
  expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
  // Someone else's session with the same agent goes on.
  expect(eventsSent(h, bobs.sessionId, 'user.interrupt')).toHaveLength(0);
  const confirmation = h.sandbox.slack.calls.find(
    (c) => c.method === 'chat.postMessage' && String(c.body.text).includes('is disconnected'),
  );
  expect(String(confirmation?.body.text)).toMatch(
    /1 live session that used it was stopped.*may still honour the token/,
  );
  const audited = (await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_ALICE`)).map(
    (r) => r.action,
  );
  expect(audited).toEqual(expect.arrayContaining(['connection.disconnected', 'session.stopped']));
});
