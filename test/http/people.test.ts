import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { activeCredentials } from '../support/connect.js';
import type { Harness } from '../support/harness.js';
import { vaultIdOf } from '../support/harness.js';
import { agentAnswers, eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, people who leave: `user_change` (deactivated), `tokens_revoked` and `app_uninstalled`,
 * signed as Slack sends them, leave the person with no active credential, no live session and no way
 * to start one.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness({ environment: { DEPUTY_ADMINS: 'U_ADMIN' } });
}, 60_000);
afterAll(() => h.close());

const team = () => h.sandbox.slack.teamId;
const runAs = (userId: string, text: string) => agentAnswers(h, userId, `run ${text}`);

async function deactivate(userId: string, deleted = true) {
  const sent = await h.driver.event({ type: 'user_change', user: { id: userId, team_id: team(), deleted } });
  expect(sent.status).toBe(200);
  await h.settle();
  return sent;
}

describe('someone deactivated', () => {
  test('has every credential archived, their waiting session stopped with its approval closed, and cannot run again', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Before leaving');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    expect(approval?.status).toBe('pending');
    const vaultId = await vaultIdOf(h, 'U_ALICE');
    expect(activeCredentials(h, vaultId).length).toBeGreaterThan(0);

    const sent = await deactivate('U_ALICE');

    expect(activeCredentials(h, vaultId)).toEqual([]);
    const [connection] = await h.store.connections.list(`T:${team()}:U_ALICE`);
    expect(connection?.status).toBe('disconnected');
    expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
    expect((await h.store.approvals.get(approval?.approvalId ?? ''))?.status).toBe('closed');
    expect(await runAs('U_ALICE', '--agent reader search for anything')).toContain(
      'Deputy no longer acts for you',
    );
    const audited = (await h.store.audit.byPrincipal(`T:${team()}:U_ALICE`)).map((r) => r.action);
    expect(audited).toEqual(
      expect.arrayContaining([
        'person.departed',
        'connection.disconnected',
        'session.stopped',
        'standing.refused',
      ]),
    );
    // The admins hear of it.
    expect(
      h.sandbox.slack.calls.some(
        (c) =>
          c.method === 'chat.postMessage' &&
          JSON.stringify(c.body).includes('Deputy no longer acts for <@U_ALICE>'),
      ),
    ).toBe(true);

    // The same event again (Slack's retry) changes nothing more.
    const departures = () =>
      h.store.audit
        .byPrincipal(`T:${team()}:U_ALICE`)
        .then((rs) => rs.filter((r) => r.action === 'person.departed').length);
    const before = await departures();
    await h.driver.redeliver(sent.request, { retryNum: 1, retryReason: 'http_timeout' });
    await h.settle();
    expect(await departures()).toBe(before);
  });

  test('who comes back may use Deputy again, connecting from scratch', async () => {
    await deactivate('U_ALICE', false);
    const reply = await runAs('U_ALICE', '--agent reader search for anything');
    expect(reply).not.toContain('Deputy no longer acts for you');
    expect(reply).toContain('Connect');
  });
});

describe('app_uninstalled', () => {
  test('stops every live session of the workspace and refuses all runs there', async () => {
    const { session } = await runAgent(h, 'U_BOB', '--agent asker create a page titled Uninstalled');
    if (!session) throw new Error('no session');
    const sent = await h.driver.event({ type: 'app_uninstalled' });
    expect(sent.status).toBe(200);
    await h.settle();
    expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
    expect(await runAs('U_ADMIN', '--agent reader search')).toContain(
      'Deputy is switched off in this workspace',
    );
    expect((await h.store.audit.byTarget(team())).map((r) => r.action)).toContain('workspace.stopped');
  });

  test('a start whose bot token fails auth.test lifts nothing; one whose token works (reinstalled) resumes the workspace', async () => {
    h.sandbox.slack.injectError('auth.test', { error: 'token_revoked' });
    await expect(h.services.people.resumeIfInstalled('start')).rejects.toThrow();
    expect(await runAs('U_ADMIN', '--agent reader search')).toContain(
      'Deputy is switched off in this workspace',
    );

    expect(await h.services.people.resumeIfInstalled('start')).toBe(true);
    expect(await runAs('U_ADMIN', '--agent reader search')).not.toContain('switched off');
    expect((await h.store.audit.byTarget(team())).map((r) => r.action)).toContain('workspace.resumed');
  });
});

describe('tokens_revoked', () => {
  test('for a person: every credential in their vault is archived, and they stay refused', async () => {
    const vaultId = await vaultIdOf(h, 'U_BOB');
    expect(activeCredentials(h, vaultId).length).toBeGreaterThan(0);
    const sent = await h.driver.event({ type: 'tokens_revoked', tokens: { oauth: ['U_BOB'], bot: [] } });
    expect(sent.status).toBe(200);
    await h.settle();
    expect(activeCredentials(h, vaultId)).toEqual([]);
    expect(await runAs('U_BOB', '--agent reader search')).toContain('Deputy no longer acts for you');
  });

  test("after Deputy revoked the person's Slack connection itself, Slack's tokens_revoked is no departure (once)", async () => {
    const alice = { teamId: team(), userId: 'U_ALICE' };
    await h.services.connections.expectSlackRevocation(alice);
    await h.driver.event({ type: 'tokens_revoked', tokens: { oauth: ['U_ALICE'], bot: [] } });
    await h.settle();
    expect(await h.store.standing.person(`T:${team()}:U_ALICE`)).toBeUndefined();
    // The note is used up: the next one is the person revoking Deputy.
    await h.driver.event({ type: 'tokens_revoked', tokens: { oauth: ['U_ALICE'], bot: [] } });
    await h.settle();
    expect((await h.store.standing.person(`T:${team()}:U_ALICE`))?.status).toBe('departed');
  });
});
