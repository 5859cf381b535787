import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditRecord } from '../../src/store/index.js';
import type { Harness } from '../support/harness.js';
import { agentAnswers, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 18, item 1 (security R45): each security-relevant step leaves exactly one record, naming the
 * person, the action, the target, the outcome, the time, the correlation id and, where the request
 * had one, the Slack trigger_id. Driven through signed requests, as Slack sends them.
 */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
});
afterAll(() => h.close());

const principal = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

/** The one record of `action` on `target`; fails if there are none or several. */
async function onlyRecord(action: string, target: string): Promise<AuditRecord> {
  const records = (await h.store.audit.byTarget(target)).filter((r) => r.action === action);
  expect(records).toHaveLength(1);
  return records[0] as AuditRecord;
}

/** The fields every record carries; `triggered` when it came from a request with a trigger_id. */
function expectFields(record: AuditRecord, who: string, outcome: string, triggered: boolean): void {
  expect(record).toMatchObject({ principalKey: principal(who), outcome });
  expect(Number.isNaN(Date.parse(record.at))).toBe(false);
  expect(record.correlationId).toMatch(/\S/);
  if (triggered) expect(record.triggerId).toMatch(/^\d+\.\d+\.[A-Za-z0-9]+$/);
  else expect(record.triggerId).toBeUndefined();
}

describe('each step leaves exactly one record with its fields', () => {
  test('approvals: approver, arguments digest, time to decision, and a person or a standing grant', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled First');
    if (!session) throw new Error('no session');
    const [first] = await h.store.approvals.forSession(session.sessionId);
    if (!first) throw new Error('no approval');
    h.clock.advance(42_000);
    await h.driver.blockAction(
      'U_ALICE',
      { actionId: 'session_approve_15m', value: first.approvalId },
      { channelId: session.dmChannelId, messageTs: first.messageTs },
    );
    await h.settle();
    const byPerson = await onlyRecord('approval.decided', first.toolUseId);
    expectFields(byPerson, 'U_ALICE', 'success', true);
    expect(byPerson.details).toMatchObject({
      session: session.sessionId,
      tool: 'notion.create_page',
      result: 'allow',
      decidedVia: 'person',
      approver: 'U_ALICE',
      decisionMs: 42_000,
      arguments: first.argumentsHash,
    });

    // The next such call in the session runs under the standing grant, recorded as such.
    await h.driver.message('U_ALICE', 'create a page titled Second', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    await h.settle();
    const second = (await h.store.approvals.forSession(session.sessionId)).find(
      (a) => a.approvalId !== first.approvalId,
    );
    if (!second) throw new Error('no second call');
    const byGrant = await onlyRecord('approval.decided', second.toolUseId);
    expect(byGrant.details).toMatchObject({ decidedVia: 'standing_grant', decisionMs: 0 });
    expect(byGrant.details?.approver).toBeUndefined();
    // The follow-up that asked for it: one record, with its digest but never its text.
    const followUps = (await h.store.audit.byTarget(session.sessionId)).filter(
      (r) => r.action === 'session.follow_up',
    );
    expect(followUps).toHaveLength(1);
    expectFields(followUps[0] as AuditRecord, 'U_ALICE', 'success', false);
    expect(JSON.stringify(followUps)).not.toContain('titled Second');
  });

  test('Stop and Share: one record each, with the click’s trigger_id', async () => {
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Stopped');
    if (!session) throw new Error('no session');
    const where = { channelId: session.dmChannelId, messageTs: session.threadTs };
    await h.driver.blockAction('U_ALICE', { actionId: 'session_stop', value: session.sessionId }, where);
    await h.driver.blockAction('U_ALICE', { actionId: 'session_stop', value: session.sessionId }, where);
    await h.settle();
    expectFields(await onlyRecord('session.stopped', session.sessionId), 'U_ALICE', 'success', true);

    const { session: done } = await runAgent(h, 'U_ALICE', '--agent reader search to share');
    if (!done) throw new Error('no session');
    const shareOn = { channelId: done.dmChannelId, messageTs: done.threadTs };
    await h.driver.blockAction('U_ALICE', { actionId: 'session_share', value: done.sessionId }, shareOn);
    await h.driver.blockAction('U_ALICE', { actionId: 'session_share', value: done.sessionId }, shareOn);
    await h.settle();
    const shared = await onlyRecord('session.shared', done.sessionId);
    expectFields(shared, 'U_ALICE', 'success', true);
    expect(shared.details).toMatchObject({ channel: 'C_GENERAL' });
  });

  test('admin changes: one record each, against the admin, with the command’s trigger_id', async () => {
    expect(await agentAnswers(h, 'U_ADMIN', 'suspend @bob')).toContain('Suspended <@U_BOB>');
    expect(await agentAnswers(h, 'U_ADMIN', 'resume @bob')).toContain('Resumed <@U_BOB>');
    expectFields(await onlyRecord('person.suspended', principal('U_BOB')), 'U_ADMIN', 'success', true);
    expectFields(await onlyRecord('person.resumed', principal('U_BOB')), 'U_ADMIN', 'success', true);
    // A resume of someone not suspended changes nothing and records nothing.
    expect(await agentAnswers(h, 'U_ADMIN', 'resume @bob')).toContain('is not suspended');
    await onlyRecord('person.resumed', principal('U_BOB'));

    await h.store.allowList.add({
      id: 'leaving',
      name: 'Leaving',
      url: 'https://leaving.example.com/mcp',
      authType: 'mcp_oauth',
      addedBy: 'U_ADMIN',
      addedAt: '2026-11-30T00:00:00.000Z',
    });
    await h.driver.command('U_ADMIN', 'servers');
    await h.settle();
    await h.driver.blockAction(
      'U_ADMIN',
      { actionId: 'admin_servers_remove', value: 'leaving' },
      { view: h.sandbox.slack.openViews('U_ADMIN').at(-1) },
    );
    await h.settle();
    const removed = await onlyRecord('allow_list.changed', 'leaving');
    expectFields(removed, 'U_ADMIN', 'success', true);
    expect(removed.details).toEqual({ removed: 'leaving' });
  });
});
