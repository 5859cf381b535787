import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { activeCredentials } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import { agentAnswers, eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, the admin kill switch: `/agent revoke|suspend|resume @person` take effect at once, and a
 * non-admin's attempt changes nothing.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
}, 60_000);
afterAll(() => h.close());

const key = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

describe('suspend and resume', () => {
  test('a non-admin cannot suspend anyone, even with a well-formed mention: refused, audited, nothing changes', async () => {
    expect(await agentAnswers(h, 'U_BOB', 'suspend @alice')).toContain('Only Deputy admins');
    expect(await h.store.standing.person(key('U_ALICE'))).toBeUndefined();
    const refusals = await h.store.audit.byPrincipal(key('U_BOB'));
    expect(refusals.map((r) => [r.action, r.target])).toContainEqual(['admin.refused', '/agent suspend']);
  });

  test('an admin suspends at once: the live session stops, runs and connects are refused, credentials are kept', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Suspended');
    if (!session) throw new Error('no session');
    expect(await agentAnswers(h, 'U_ADMIN', 'suspend @alice')).toContain('Suspended <@U_ALICE>');
    expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    expect(approval?.status).toBe('closed');
    expect(await agentAnswers(h, 'U_ALICE', 'run --agent reader search for plans')).toContain(
      'suspended Deputy for you',
    );
    expect(await agentAnswers(h, 'U_ALICE', 'connect')).toContain('suspended Deputy for you');
    expect(activeCredentials(h, await vaultIdOf(h, 'U_ALICE')).length).toBeGreaterThan(0);
  });

  test('resume lifts it: the person runs again with the connections they had', async () => {
    expect(await agentAnswers(h, 'U_ADMIN', 'resume <@U_ALICE|alice>')).toContain('Resumed <@U_ALICE>');
    const { session } = await runAgent(h, 'U_ALICE', '--agent reader search for plans');
    expect(session).toBeDefined();
    expect(await agentAnswers(h, 'U_ADMIN', 'resume U_ALICE')).toContain('is not suspended');
  });
});

describe('revoke', () => {
  test('archives every credential and stops every live session at once; the person may connect again', async () => {
    const { session: live } = await runAgent(h, 'U_BOB', '--agent asker create a page titled Held for Bob');
    if (!live) throw new Error('no session');
    expect(await agentAnswers(h, 'U_ADMIN', 'revoke @bob')).toContain(
      'Revoked <@U_BOB>: 1 credential archived, 1 live session stopped',
    );
    expect(activeCredentials(h, await vaultIdOf(h, 'U_BOB'))).toEqual([]);
    expect(eventsSent(h, live.sessionId, 'user.interrupt')).toHaveLength(1);
    expect(await agentAnswers(h, 'U_BOB', 'connect')).toContain('Connect');
    const audited = await h.store.audit.byPrincipal(key('U_ADMIN'));
    expect(audited.map((r) => [r.action, r.target])).toContainEqual(['person.revoked', key('U_BOB')]);
  });

  test('naming nobody, or oneself, changes nothing', async () => {
    expect(await agentAnswers(h, 'U_ADMIN', 'revoke')).toContain('Name one person');
    expect(await agentAnswers(h, 'U_ADMIN', 'revoke bob smith')).toContain('Name one person');
    expect(await agentAnswers(h, 'U_ADMIN', 'suspend @ada')).toContain('That names you');
  });
});

describe('the Home tab’s admin section', () => {
  const pick = (userId: string) => ({
    admin_people: { people_pick: { type: 'users_select', selected_user: userId } },
  });
  const dmsTo = (userId: string) =>
    JSON.stringify(
      h.sandbox.slack.calls.filter(
        (c) => c.method === 'chat.postMessage' && c.body.channel === h.sandbox.slack.dmChannelId(userId),
      ),
    );

  test('is shown to admins only', async () => {
    for (const userId of ['U_ADMIN', 'U_BOB']) {
      await h.driver.event({
        type: 'app_home_opened',
        user: userId,
        channel: h.sandbox.slack.dmChannelId(userId),
        tab: 'home',
      });
    }
    await h.settle();
    expect(JSON.stringify(h.sandbox.slack.homeView('U_ADMIN')?.blocks)).toContain('people_revoke');
    expect(JSON.stringify(h.sandbox.slack.homeView('U_BOB')?.blocks)).not.toContain('people_revoke');
  });

  test('suspends and resumes the person picked, and tells the admin by DM', async () => {
    const home = h.sandbox.slack.homeView('U_ADMIN');
    if (!home) throw new Error('no Home tab');
    await h.driver.blockAction(
      'U_ADMIN',
      { actionId: 'people_suspend' },
      { view: home, stateValues: pick('U_ALICE') },
    );
    await h.settle();
    expect((await h.store.standing.person(key('U_ALICE')))?.status).toBe('suspended');
    expect(dmsTo('U_ADMIN')).toContain('Suspended <@U_ALICE>');
    await h.driver.blockAction(
      'U_ADMIN',
      { actionId: 'people_resume' },
      { view: home, stateValues: pick('U_ALICE') },
    );
    await h.settle();
    expect(await h.store.standing.person(key('U_ALICE'))).toBeUndefined();
  });

  test('a forged click from someone who is not an admin changes nothing', async () => {
    const home = h.sandbox.slack.homeView('U_ADMIN');
    if (!home) throw new Error('no Home tab');
    // Bob sends the admin's button, with Alice picked, as if it were on his Home tab.
    await h.driver.blockAction(
      'U_BOB',
      { actionId: 'people_suspend' },
      { view: home, stateValues: pick('U_ALICE') },
    );
    await h.settle();
    expect(await h.store.standing.person(key('U_ALICE'))).toBeUndefined();
    expect(dmsTo('U_BOB')).toContain('Only Deputy admins');
  });
});

describe('standings do not undo each other', () => {
  test('a suspension outlives a deactivation and a reactivation', async () => {
    expect(await agentAnswers(h, 'U_ADMIN', 'suspend @alice')).toContain('Suspended <@U_ALICE>');
    for (const deleted of [true, false]) {
      await h.driver.event({
        type: 'user_change',
        user: { id: 'U_ALICE', team_id: h.sandbox.slack.teamId, deleted },
      });
      await h.settle();
    }
    expect((await h.store.standing.person(key('U_ALICE')))?.status).toBe('suspended');
  });

  test('someone who revoked Deputy stays departed when their profile changes', async () => {
    await h.driver.event({ type: 'tokens_revoked', tokens: { oauth: ['U_BOB'], bot: [] } });
    await h.settle();
    await h.driver.event({
      type: 'user_change',
      user: { id: 'U_BOB', team_id: h.sandbox.slack.teamId, deleted: false },
    });
    await h.settle();
    expect((await h.store.standing.person(key('U_BOB')))?.status).toBe('departed');
  });
});
