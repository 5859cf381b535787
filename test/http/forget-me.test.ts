import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { activeCredentials } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import { runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, item 6: `/agent forget-me` (behind a confirmation) leaves nothing about the person but
 * audit records: credentials archived, vault archived, connections, sessions, approvals and run
 * requests deleted here and at Anthropic. Someone else's data is untouched.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
}, 60_000);
afterAll(() => h.close());

const key = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

/** Items of the main table that mention any of `needles`. */
async function mainItemsMentioning(needles: string[]): Promise<Record<string, unknown>[]> {
  const items = await h.scanTables();
  const auditItems = new Set((await h.store.audit.byPrincipal(key('U_ALICE'))).map((r) => r.id));
  return items.filter((item) => {
    if (typeof item.id === 'string' && auditItems.has(item.id)) return false;
    if (String(item.pk).startsWith('P#')) return false;
    const text = JSON.stringify(item);
    return needles.some((n) => text.includes(n));
  });
}

test('forget-me asks first, then leaves nothing about the person but audit records', async () => {
  const { session: finished } = await runAgent(h, 'U_ALICE', '--agent reader search for plans');
  const { session: waiting } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Secret plan');
  if (!finished || !waiting) throw new Error('no session');
  expect((await h.store.approvals.forSession(waiting.sessionId)).length).toBe(1);
  const { session: bobs } = await runAgent(h, 'U_BOB', '--agent reader search for Bob things');
  if (!bobs) throw new Error('no session');
  const aliceVault = await vaultIdOf(h, 'U_ALICE');

  const asked = await h.driver.command('U_ALICE', 'forget-me');
  await h.settle();
  const prompt = h.sandbox.slack.calls.find(
    (c) => c.method === 'response_url' && c.body.url === asked.responseUrl,
  );
  expect(String(prompt?.body.text)).toContain('Audit records about you are kept');
  // Nothing is deleted before the confirmed click.
  expect(activeCredentials(h, aliceVault)).toHaveLength(1);

  const clicked = await h.driver.blockAction('U_ALICE', { actionId: 'people_forget_me' });
  expect(clicked.status).toBe(200);
  await h.settle();
  // The waiting session stops; the sweep deletes it once it is at rest.
  h.clock.advance(61_000);
  await h.settle();
  h.clock.advance(31_000);
  await h.settle();

  expect(activeCredentials(h, aliceVault)).toEqual([]);
  expect(
    h.sandbox.managedAgents.vaults({ includeArchived: true }).find((v) => v.id === aliceVault)?.archived_at,
  ).toBeTruthy();
  for (const id of [finished.sessionId, waiting.sessionId]) {
    expect(h.sandbox.managedAgents.session(id)).toBeUndefined();
  }
  const left = await mainItemsMentioning([
    key('U_ALICE'),
    finished.sessionId,
    waiting.sessionId,
    'Secret plan',
  ]);
  expect(left).toEqual([]);
  // The audit trail stays, and says she asked.
  const audited = (await h.store.audit.byPrincipal(key('U_ALICE'))).map((r) => r.action);
  expect(audited).toEqual(expect.arrayContaining(['person.forgotten', 'vault.archived', 'records.purged']));
  const reply = h.sandbox.slack.calls.filter(
    (c) => c.method === 'response_url' && c.body.url === clicked.responseUrl,
  );
  expect(JSON.stringify(reply)).toContain('Deputy has forgotten you');

  // Bob's data stands.
  expect(await h.store.sessions.get(bobs.sessionId)).toBeDefined();
  expect((await h.store.connections.get(key('U_BOB'), 'notion'))?.status).toBe('connected');
});
