import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type DynamoHandle, startEmbeddedDynamo } from '../../src/store/dynamo.js';
import { type AuditOutage, withAuditOutage } from '../support/audit-outage.js';
import { activeCredentials, connectLink, runConnect } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import {
  agentAnswers,
  eventsSent,
  runAgent,
  saveAgent,
  startSessionsHarness,
  threadMessages,
} from '../support/sessions.js';

/**
 * Issue 18, fail-closed (security R46): with the audit table down, nothing that needs an audit record
 * happens, nothing of it is left behind, and the person is told why.
 */
let h: Harness;
let base: DynamoHandle;
let outage: AuditOutage;
beforeAll(async () => {
  base = await startEmbeddedDynamo();
  const wrapped = withAuditOutage(base);
  outage = wrapped.outage;
  h = await startSessionsHarness({ dynamo: wrapped.dynamo });
});
afterAll(async () => {
  await h.close();
  await base.close();
});

const AUDIT_REFUSAL = 'could not write this to its audit trail';

test('/agent run with the audit table down starts no session, opens no thread, and says why', async () => {
  const sessionsBefore = h.sandbox.managedAgents.sessions().length;
  const postsBefore = h.sandbox.slack.callsTo('chat.postMessage').length;
  outage.down = true;
  try {
    const { reply, session } = await runAgent(h, 'U_ALICE', '--agent reader search while the audit is down');
    expect(reply).toContain(AUDIT_REFUSAL);
    expect(session).toBeUndefined();
  } finally {
    outage.down = false;
  }
  expect(h.sandbox.managedAgents.sessions()).toHaveLength(sessionsBefore);
  expect(h.sandbox.slack.callsTo('chat.postMessage')).toHaveLength(postsBefore);
  // Back up, the sweep finds no session made for the failed start and makes none.
  await h.services.sessions.repairStarts('test');
  await h.settle();
  expect(h.sandbox.managedAgents.sessions()).toHaveLength(sessionsBefore);
});

test('Approve with the audit table down sends no confirmation, leaves the call pending, and says why', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Audited');
  if (!session) throw new Error('no session');
  const [approval] = await h.store.approvals.forSession(session.sessionId);
  const where = { channelId: session.dmChannelId, messageTs: approval?.messageTs };
  outage.down = true;
  try {
    await h.driver.blockAction(
      'U_ALICE',
      { actionId: 'session_approve', value: approval?.approvalId },
      where,
    );
    await h.sandbox.slack.waitFor('response_url', (c) => JSON.stringify(c.body).includes(AUDIT_REFUSAL));
    await h.settle();
  } finally {
    outage.down = false;
  }
  expect(eventsSent(h, session.sessionId, 'user.tool_confirmation')).toEqual([]);
  expect(await h.store.approvals.get(approval?.approvalId ?? '')).toMatchObject({ status: 'pending' });
  expect((await h.store.approvals.get(approval?.approvalId ?? ''))?.decidedBy).toBeUndefined();
  // Back up, the same click goes through: one confirmation, audited.
  await h.driver.blockAction('U_ALICE', { actionId: 'session_approve', value: approval?.approvalId }, where);
  await h.settle();
  expect(eventsSent(h, session.sessionId, 'user.tool_confirmation')).toHaveLength(1);
  const decided = await h.store.audit.byTarget(approval?.toolUseId ?? '');
  expect(decided.filter((r) => r.action === 'approval.decided')).toHaveLength(1);
  expect(JSON.stringify(threadMessages(h, session))).toContain('Audited');
});

test('a connect with the audit table down puts no credential in the vault, and the page says why', async () => {
  const vaultId = await vaultIdOf(h, 'U_ALICE');
  const before = activeCredentials(h, vaultId).map((c) => c.id);
  const link = await connectLink(h, 'U_ALICE', 'github');
  outage.down = true;
  let html: string;
  try {
    const run = await runConnect(h, link, { signedInAs: 'U_ALICE', account: 'acct_alice' });
    html = run.page.html;
    await h.settle();
  } finally {
    outage.down = false;
  }
  expect(html).toContain(AUDIT_REFUSAL);
  expect(activeCredentials(h, vaultId).map((c) => c.id)).toEqual(before);
});

test('a connect whose save cannot be audited stops before the vault: no credential, the token revoked, the page says why', async () => {
  const vaultId = await vaultIdOf(h, 'U_BOB');
  const before = activeCredentials(h, vaultId).map((c) => c.id);
  const github = h.sandbox.providers.github;
  const revokedBefore = github.revocations.length;
  const link = await connectLink(h, 'U_BOB', 'github');
  // Only the record written before the credential: everything up to it is audited as usual.
  outage.down = (request) => JSON.stringify(request).includes('connection.saving');
  let html: string;
  try {
    html = (await runConnect(h, link, { signedInAs: 'U_BOB', account: 'acct_bob' })).page.html;
    await h.settle();
  } finally {
    outage.down = false;
  }
  expect(html).toContain(AUDIT_REFUSAL);
  expect(activeCredentials(h, vaultId).map((c) => c.id)).toEqual(before);
  expect(github.revocations.length).toBeGreaterThan(revokedBefore);
});

test('a follow-up with the audit table down reaches no agent, and its writer is told why', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent reader search before a follow-up');
  if (!session) throw new Error('no session');
  const sentBefore = eventsSent(h, session.sessionId, 'user.message').length;
  outage.down = true;
  try {
    await h.driver.message('U_ALICE', 'and then?', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) => c.body.user === 'U_ALICE' && String(c.body.text).includes(AUDIT_REFUSAL),
    );
    await h.settle();
  } finally {
    outage.down = false;
  }
  expect(eventsSent(h, session.sessionId, 'user.message')).toHaveLength(sentBefore);
});

test('a Stop with the audit table down interrupts nothing, and a Stop after it goes through', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Stoppable');
  if (!session) throw new Error('no session');
  const stop = () =>
    h.driver.blockAction(
      'U_ALICE',
      { actionId: 'session_stop', value: session.sessionId },
      { channelId: session.dmChannelId, messageTs: session.threadTs },
    );
  outage.down = true;
  try {
    await stop();
    await h.settle();
  } finally {
    outage.down = false;
  }
  expect(eventsSent(h, session.sessionId, 'user.interrupt')).toEqual([]);
  await stop();
  await h.settle();
  expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
});

test('an agent saved with the audit table down publishes no version at Anthropic and stores nothing', async () => {
  const before = h.sandbox.managedAgents.agents().length;
  outage.down = true;
  try {
    await expect(saveAgent(h, 'unaudited', { search: 'allow' })).rejects.toThrow('audit trail');
  } finally {
    outage.down = false;
  }
  expect(h.sandbox.managedAgents.agents()).toHaveLength(before);
  expect(await h.store.agents.get('unaudited')).toBeUndefined();
  // Back up, the same save goes through, with its intent and its outcome recorded.
  await saveAgent(h, 'unaudited', { search: 'allow' });
  const saved = await h.store.agents.get('unaudited');
  expect((await h.store.audit.byTarget(saved?.agentId ?? '')).map((r) => r.action)).toEqual(['agent.saved']);
  expect((await h.store.audit.byTarget('unaudited')).map((r) => r.action)).toContain('agent.saving');
});

test('a Share with the audit table down posts nothing to the channel, and a Share after it goes through', async () => {
  const { session } = await runAgent(h, 'U_ALICE', '--agent reader search for something to share');
  if (!session) throw new Error('no session');
  const sharedPosts = () =>
    h.sandbox.slack
      .messages('C_GENERAL')
      .filter((m) => String(m.text).includes('shared a result') && String(m.text).includes('U_ALICE'));
  const before = sharedPosts().length;
  const share = () =>
    h.driver.blockAction(
      'U_ALICE',
      { actionId: 'session_share', value: session.sessionId },
      { channelId: session.dmChannelId, messageTs: session.threadTs },
    );
  outage.down = true;
  try {
    await share();
    await h.sandbox.slack.waitFor('response_url', (c) => String(c.body.text).includes(AUDIT_REFUSAL));
    await h.settle();
  } finally {
    outage.down = false;
  }
  expect(sharedPosts()).toHaveLength(before);
  expect((await h.store.sessions.get(session.sessionId))?.sharedTs).toBeUndefined();
  // The claim was given back: the next click shares, once.
  await share();
  await h.settle();
  expect(sharedPosts()).toHaveLength(before + 1);
});

describe('admin changes with the audit table down take no effect, and the admin is told why (security R46)', () => {
  const alice = () => `T:${h.sandbox.slack.teamId}:U_ALICE`;
  async function whileDown(text: string): Promise<string> {
    outage.down = true;
    try {
      return await agentAnswers(h, 'U_ADMIN', text);
    } finally {
      outage.down = false;
    }
  }

  test('suspend, revoke and force-reconnect: the person is not suspended, keeps every credential and live session', async () => {
    const vaultId = await vaultIdOf(h, 'U_ALICE');
    const credentials = activeCredentials(h, vaultId).length;
    expect(credentials).toBeGreaterThan(0);
    const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Kept');
    if (!session) throw new Error('no session');
    for (const command of ['suspend @alice', 'revoke @alice', 'force-reconnect notion'])
      expect(await whileDown(command)).toContain(AUDIT_REFUSAL);
    expect(await h.store.standing.person(alice())).toBeUndefined();
    expect(activeCredentials(h, vaultId)).toHaveLength(credentials);
    expect(eventsSent(h, session.sessionId, 'user.interrupt')).toEqual([]);
    const admin = `T:${h.sandbox.slack.teamId}:U_ADMIN`;
    expect(
      (await h.store.audit.byPrincipal(admin)).filter((r) =>
        ['person.suspended', 'person.revoked', 'connector.reconnect_forced'].includes(r.action),
      ),
    ).toEqual([]);
  });

  test('resume: a suspended person stays suspended until the resume can be recorded', async () => {
    expect(await agentAnswers(h, 'U_ADMIN', 'suspend @alice')).toContain('Suspended <@U_ALICE>');
    expect(await whileDown('resume @alice')).toContain(AUDIT_REFUSAL);
    expect((await h.store.standing.person(alice()))?.status).toBe('suspended');
    expect(await agentAnswers(h, 'U_ADMIN', 'resume @alice')).toContain('Resumed <@U_ALICE>');
    expect(await h.store.standing.person(alice())).toBeUndefined();
  });

  test('removing a server from the allow list leaves it on the list', async () => {
    await h.store.allowList.add({
      id: 'unaudited',
      name: 'Unaudited',
      url: 'https://unaudited.example.com/mcp',
      authType: 'mcp_oauth',
      addedBy: 'U_ADMIN',
      addedAt: '2026-11-30T00:00:00.000Z',
    });
    await h.driver.command('U_ADMIN', 'servers');
    await h.settle();
    const remove = () =>
      h.driver.blockAction(
        'U_ADMIN',
        { actionId: 'admin_servers_remove', value: 'unaudited' },
        { view: h.sandbox.slack.openViews('U_ADMIN').at(-1) },
      );
    outage.down = true;
    try {
      await remove();
      await h.settle();
    } finally {
      outage.down = false;
    }
    expect((await h.store.allowList.list()).map((s) => s.id)).toContain('unaudited');
    await remove();
    await h.settle();
    expect((await h.store.allowList.list()).map((s) => s.id)).not.toContain('unaudited');
    const records = (await h.store.audit.byTarget('unaudited')).filter(
      (r) => r.action === 'allow_list.changed',
    );
    expect(records.map((r) => [r.action, r.outcome, r.details?.removed])).toEqual([
      ['allow_list.changed', 'success', 'unaudited'],
    ]);
  });
});
