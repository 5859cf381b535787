import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { activeCredentials } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import { agentAnswers, eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, item 3: an admin makes everyone reconnect a connector (a leaked client secret, a changed
 * scope). Each live connection ends as a disconnect does (credential archived, token revoked at the
 * provider, live sessions that use it stopped), and the person is asked to reconnect. A non-admin's
 * attempt changes nothing.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
}, 60_000);
afterAll(() => h.close());

const key = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

test('a non-admin cannot force a reconnect: refused, audited, every connection stands', async () => {
  expect(await agentAnswers(h, 'U_BOB', 'force-reconnect notion')).toContain('Only Deputy admins');
  expect((await h.store.connections.get(key('U_ALICE'), 'notion'))?.status).toBe('connected');
  expect(activeCredentials(h, await vaultIdOf(h, 'U_ALICE'))).toHaveLength(1);
  const refusals = await h.store.audit.byPrincipal(key('U_BOB'));
  expect(refusals.map((r) => [r.action, r.target])).toContainEqual([
    'admin.refused',
    '/agent force-reconnect',
  ]);
});

test('an admin forces everyone to reconnect: credentials archived, tokens revoked, live sessions stopped, each person asked to reconnect', async () => {
  const notion = h.sandbox.providers.notion;
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Before the leak');
  if (!session) throw new Error('no session');

  const answer = await agentAnswers(h, 'U_ADMIN', 'force-reconnect notion');

  expect(answer).toContain('Everyone must reconnect Notion (sandbox): 2 connections ended');
  expect(answer).toContain('1 live session stopped');
  for (const [userId, account] of [
    ['U_ALICE', 'acct_alice'],
    ['U_BOB', 'acct_bob'],
  ] as const) {
    expect(activeCredentials(h, await vaultIdOf(h, userId))).toEqual([]);
    expect((await h.store.connections.get(key(userId), 'notion'))?.status).toBe('disconnected');
    const tokens = notion.issuedTokens().filter((t) => notion.tokenInfo(t)?.accountId === account);
    for (const token of tokens) expect(notion.tokenRevoked(token)).toBe(true);
    const dm = h.sandbox.slack.calls.find(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === h.sandbox.slack.dmChannelId(userId) &&
        String(c.body.text).includes('needs reconnecting'),
    );
    expect(JSON.stringify(dm?.body.blocks)).toContain('Reconnect');
  }
  expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
  const adminRecords = await h.store.audit.byPrincipal(key('U_ADMIN'));
  expect(adminRecords.map((r) => [r.action, r.target])).toContainEqual([
    'connector.reconnect_forced',
    'notion',
  ]);
  // The next run has no Notion until they reconnect: the run asks them to connect it.
  expect(await agentAnswers(h, 'U_ALICE', 'run --agent reader search for plans')).toContain(
    'which you have not connected',
  );
});

test('a second force, or one naming an unknown connector, ends nothing more', async () => {
  expect(await agentAnswers(h, 'U_ADMIN', 'force-reconnect notion')).toContain('0 connections ended');
  expect(await agentAnswers(h, 'U_ADMIN', 'force-reconnect nosuch')).toContain('There is no connector');
  expect(await agentAnswers(h, 'U_ADMIN', 'force-reconnect')).toContain('Name one connector');
});

test('a connector name that is markup comes back escaped', async () => {
  const answer = await agentAnswers(h, 'U_ADMIN', 'force-reconnect <!channel>');
  expect(answer).toContain('There is no connector \\"&lt;!channel&gt;\\"');
  expect(answer).not.toContain('<!channel>');
});
