import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Harness } from '../support/harness.js';
import { agentAnswers, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 18, the audit trail in Slack: `/agent audit` shows everyone their own recent activity, and
 * only admins a person's, a session's or an agent's.
 */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
});
afterAll(() => h.close());

describe('/agent audit', () => {
  test('anyone sees their own recent activity, and nobody else’s', async () => {
    await runAgent(h, 'U_ALICE', '--agent reader search for the audit');
    await runAgent(h, 'U_BOB', '--agent reader search for bob');
    const answer = await agentAnswers(h, 'U_ALICE', 'audit');
    expect(answer).toContain('Audit trail: your recent activity');
    expect(answer).toContain('session.requested');
    expect(answer).toContain('tool.called');
    expect(answer).toContain('<@U_ALICE>');
    expect(answer).not.toContain('<@U_BOB>');
  });

  test('a non-admin naming a person, a session or an agent gets nothing of the trail, and the refusal is audited', async () => {
    const { session } = await runAgent(h, 'U_BOB', '--agent reader search bob again');
    for (const text of ['audit <@U_BOB>', `audit ${session?.sessionId}`, 'audit agent reader']) {
      const answer = await agentAnswers(h, 'U_ALICE', text);
      expect(answer).toContain('Only Deputy’s admins can search the audit trail');
      expect(answer).not.toContain('session.requested');
      expect(answer).not.toContain('tool.called');
    }
    const refusals = (await h.store.audit.byTarget('/agent audit')).filter(
      (r) => r.action === 'admin.refused' && r.principalKey?.endsWith(':U_ALICE'),
    );
    expect(refusals).toHaveLength(3);
  });

  test('an admin sees a person’s trail, and a session’s from its start to its tool calls', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent reader search for the admin');
    if (!session) throw new Error('no session');
    const person = await agentAnswers(h, 'U_ADMIN', 'audit <@U_ALICE|alice>');
    expect(person).toContain('Audit trail: <@U_ALICE>');
    expect(person).toContain('session.created');
    const trail = await agentAnswers(h, 'U_ADMIN', `audit ${session.sessionId}`);
    expect(trail).toContain(`Audit trail: session \`${session.sessionId}\``);
    for (const action of ['session.requested', 'session.created', 'tool.called'])
      expect(trail).toContain(action);
    const agent = await agentAnswers(h, 'U_ADMIN', 'audit agent reader');
    expect(agent).toContain('agent.saved');
    expect(await agentAnswers(h, 'U_ADMIN', 'audit whatever this is')).toContain('Admins can name a person');
  });
});
