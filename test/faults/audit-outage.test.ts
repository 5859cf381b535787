import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type DynamoHandle, startEmbeddedDynamo } from '../../src/store/dynamo.js';
import { type AuditOutage, withAuditOutage } from '../support/audit-outage.js';
import { activeCredentials, connectLink, runConnect } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import {
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
