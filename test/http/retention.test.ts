import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Harness } from '../support/harness.js';
import { runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, item 6: DEPUTY_RETENTION_DAYS. The sweep purges sessions (here and at Anthropic, with
 * their approvals and run requests) once they have rested that long, and disconnected connections
 * that long after the disconnect; what was used since stays.
 */

let h: Harness;
const HOUR = 3_600_000;

beforeAll(async () => {
  h = await startSessionsHarness({ environment: { DEPUTY_RETENTION_DAYS: '1' } });
}, 60_000);
afterAll(() => h.close());

const key = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

async function later(ms: number): Promise<void> {
  h.clock.advance(ms);
  await h.settle();
}

test('a session rested for the retention period is purged with its approvals and run request; newer ones stay', async () => {
  const { session: old } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Old plan');
  if (!old) throw new Error('no session');
  const [approval] = await h.store.approvals.forSession(old.sessionId);
  if (!approval) throw new Error('no approval');
  await h.driver.blockAction('U_ALICE', { actionId: 'session_deny', value: approval.approvalId });
  await h.settle();
  expect((await h.store.sessions.get(old.sessionId))?.status).not.toBe('waiting');
  await h.driver.command('U_BOB', 'connect');
  await h.settle();
  await h.driver.blockAction('U_BOB', { actionId: 'connect_disconnect', value: 'notion' });
  await h.settle();

  await later(20 * HOUR);
  const { session: recent } = await runAgent(h, 'U_ALICE', '--agent reader search for new plans');
  if (!recent) throw new Error('no session');
  expect(await h.store.sessions.get(old.sessionId)).toBeDefined();

  await later(5 * HOUR);

  expect(await h.store.sessions.get(old.sessionId)).toBeUndefined();
  expect(await h.store.approvals.forSession(old.sessionId)).toEqual([]);
  expect(await h.store.runIntents.byId(old.intentId)).toBeUndefined();
  expect(h.sandbox.managedAgents.session(old.sessionId)).toBeUndefined();
  expect(await h.store.connections.get(key('U_BOB'), 'notion')).toBeUndefined();
  // Used within the period: kept, and so is a connection still connected.
  expect(await h.store.sessions.get(recent.sessionId)).toBeDefined();
  expect(h.sandbox.managedAgents.session(recent.sessionId)).toBeDefined();
  expect((await h.store.connections.get(key('U_ALICE'), 'notion'))?.status).toBe('connected');
  const purged = (await h.store.audit.byPrincipal(key('U_ALICE'))).filter(
    (r) => r.action === 'records.purged',
  );
  expect(purged.map((r) => r.target)).toEqual([old.sessionId]);

  await later(24 * HOUR);
  expect(await h.store.sessions.get(recent.sessionId)).toBeUndefined();
});

test('a session falling due seconds before midnight is purged by the first sweep after it (the sweep reads the day before)', async () => {
  // Start a session so that it falls due 15 s before a UTC midnight.
  const midnight = (ms: number) => Math.ceil(ms / (24 * HOUR)) * 24 * HOUR;
  h.clock.set(midnight(h.clock.now() + HOUR) - 15_000);
  await h.settle();
  const { session } = await runAgent(h, 'U_ALICE', '--agent reader search for midnight plans');
  if (!session) throw new Error('no session');
  const due = Date.parse(session.createdAt) + 24 * HOUR;

  h.clock.set(due - 10_000);
  await h.settle();
  expect(await h.store.sessions.get(session.sessionId)).toBeDefined();
  // The next sweep runs after midnight: the item sits under the day before.
  h.clock.set(due + 30_000);
  await h.settle();
  expect(await h.store.sessions.get(session.sessionId)).toBeUndefined();
});
