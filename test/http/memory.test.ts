import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { SessionRecord } from '../../src/store/index.js';
import { PRINCIPAL_METADATA_KEY } from '../../src/vaults/owned-resources.js';
import { connectLink, runConnect } from '../support/connect.js';
import type { Harness } from '../support/harness.js';
import { agentAnswers, agentConfig, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 16, item 4: an agent that remembers per person gives each person their own memory store,
 * held to the vault's rule: one per person, named in its metadata and checked before every use,
 * attached to their sessions only, archived when Deputy stops acting for them.
 */

let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
  const admin = { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' };
  const remembers = await agentConfig(h, 'remembers', { search: 'allow' });
  await h.services.agents.save(admin, { ...remembers, memory: 'read_write' }, undefined, 'setup');
  const recalls = await agentConfig(h, 'recalls', { search: 'allow' });
  await h.services.agents.save(admin, { ...recalls, memory: 'read_only' }, undefined, 'setup');
}, 60_000);
afterAll(() => h.close());

const keyOf = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

/** The memory stores the session was created with, as Managed Agents holds it. */
function memoryOf(session: SessionRecord | undefined) {
  const resources = h.sandbox.managedAgents.session(session?.sessionId ?? '')?.resources ?? [];
  return resources.flatMap((r) => (r.type === 'memory_store' ? [r] : []));
}

const storeNamed = (id: string | undefined) =>
  h.sandbox.managedAgents.memoryStores().find((s) => s.id === id);

test('two people running the same remembering agent each get their own memory store, and only it, every time', async () => {
  const alice = await runAgent(h, 'U_ALICE', '--agent remembers search plans');
  // (Prompts differ throughout: runAgent tells a person's sessions apart by their prompt.)
  const bob = await runAgent(h, 'U_BOB', '--agent remembers search plans');
  const again = await runAgent(h, 'U_ALICE', '--agent remembers search more plans');
  const [aliceStore, ...aliceMore] = memoryOf(alice.session);
  const [bobStore, ...bobMore] = memoryOf(bob.session);
  expect(aliceMore).toEqual([]);
  expect(bobMore).toEqual([]);
  expect(aliceStore?.memory_store_id).not.toBe(bobStore?.memory_store_id);
  expect(aliceStore).toMatchObject({ access: 'read_write' });
  expect(storeNamed(aliceStore?.memory_store_id)?.metadata[PRINCIPAL_METADATA_KEY]).toBe(keyOf('U_ALICE'));
  expect(storeNamed(bobStore?.memory_store_id)?.metadata[PRINCIPAL_METADATA_KEY]).toBe(keyOf('U_BOB'));
  // Her second session carries the same store: one per person, not one per session.
  expect(memoryOf(again.session).map((r) => r.memory_store_id)).toEqual([aliceStore?.memory_store_id]);
  const created = (await h.store.audit.byPrincipal(keyOf('U_ALICE'))).filter(
    (r) => r.action === 'memory_store.created',
  );
  expect(created.map((r) => r.target)).toEqual([aliceStore?.memory_store_id]);

  // An agent set to read only mounts the same store read only; one that does not remember, none.
  const reading = await runAgent(h, 'U_ALICE', '--agent recalls search old plans');
  expect(memoryOf(reading.session)).toEqual([
    expect.objectContaining({ memory_store_id: aliceStore?.memory_store_id, access: 'read_only' }),
  ]);
  const plain = await runAgent(h, 'U_ALICE', '--agent reader search other plans');
  expect(memoryOf(plain.session)).toEqual([]);
});

test('a mapping that points at a store naming someone else is refused: no session starts with it', async () => {
  const bobKey = keyOf('U_BOB');
  const bobStore = (await h.store.memoryMappings.get(bobKey)) as { resourceId: string } | undefined;
  if (!bobStore) throw new Error('Bob has no memory store yet');
  // Tampered: Alice's mapping now names Bob's store.
  await h.store.memoryMappings.forget(keyOf('U_ALICE'));
  const alice = { teamId: h.sandbox.slack.teamId, userId: 'U_ALICE' };
  await h.store.memoryMappings.claim(keyOf('U_ALICE'), alice, 'claim_tampered', h.clock.now() + 60_000);
  await h.store.memoryMappings.complete(
    keyOf('U_ALICE'),
    'claim_tampered',
    bobStore.resourceId,
    h.clock.now(),
  );
  const before = h.sandbox.managedAgents.sessions().length;

  const { reply } = await runAgent(h, 'U_ALICE', '--agent remembers search secrets');

  const carrying = h.sandbox.managedAgents
    .sessions()
    .filter((s) => s.metadata.deputy_principal === keyOf('U_ALICE'))
    .flatMap((s) => s.resources)
    .filter((r) => r.type === 'memory_store' && r.memory_store_id === bobStore.resourceId);
  expect(carrying).toEqual([]);
  expect(h.sandbox.managedAgents.sessions()).toHaveLength(before);
  expect(reply).not.toContain(bobStore.resourceId);
  const refused = (await h.store.audit.byPrincipal(keyOf('U_ALICE'))).filter(
    (r) => r.action === 'memory_store.mismatch_refused',
  );
  expect(refused.map((r) => [r.target, r.details?.reason])).toEqual([
    [bobStore.resourceId, 'metadata_names_another_principal'],
  ]);
  // Put right for the next test: Alice's own store is hers again.
  await h.store.memoryMappings.forget(keyOf('U_ALICE'));
});

test('revoking someone archives their memory store; their next remembering session starts a new one', async () => {
  await runAgent(h, 'U_BOB', '--agent remembers search once more');
  const mapping = await h.store.memoryMappings.get(keyOf('U_BOB'));
  const old = mapping?.status === 'ready' ? mapping.resourceId : undefined;
  expect(storeNamed(old)?.archived_at).toBeNull();

  expect(await agentAnswers(h, 'U_ADMIN', 'revoke <@U_BOB>')).toContain('Revoked <@U_BOB>');

  expect(storeNamed(old)?.archived_at).not.toBeNull();
  expect(await h.store.memoryMappings.get(keyOf('U_BOB'))).toBeUndefined();
  // Revoked, not suspended: once he connects Notion again, he runs with a new store.
  await runConnect(h, await connectLink(h, 'U_BOB', 'notion'), { signedInAs: 'U_BOB', account: 'acct_bob' });
  await h.settle();
  const { session } = await runAgent(h, 'U_BOB', '--agent remembers search afresh');
  const [fresh] = memoryOf(session);
  expect(fresh?.memory_store_id).toBeDefined();
  expect(fresh?.memory_store_id).not.toBe(old);
});

test('forget-me deletes the person’s memory store (an archived one could still be read); a departure archives it', async () => {
  await runAgent(h, 'U_ALICE', '--agent remembers search before forgetting');
  const mapping = await h.store.memoryMappings.get(keyOf('U_ALICE'));
  const aliceStore = mapping?.status === 'ready' ? mapping.resourceId : undefined;
  expect(storeNamed(aliceStore)).toBeDefined();

  await h.driver.command('U_ALICE', 'forget-me');
  await h.settle();
  expect((await h.driver.blockAction('U_ALICE', { actionId: 'people_forget_me' })).status).toBe(200);
  await h.settle();

  expect(storeNamed(aliceStore)).toBeUndefined();
  expect(await h.store.memoryMappings.get(keyOf('U_ALICE'))).toBeUndefined();
  const deleted = (await h.store.audit.byPrincipal(keyOf('U_ALICE'))).filter(
    (r) => r.action === 'memory_store.deleted',
  );
  expect(deleted.map((r) => r.target)).toContain(aliceStore);
  // Every store naming her goes, the one the tampered mapping above left unreferenced too.
  expect(
    h.sandbox.managedAgents
      .memoryStores()
      .filter((m) => m.metadata[PRINCIPAL_METADATA_KEY] === keyOf('U_ALICE')),
  ).toEqual([]);

  // Bob leaves the workspace: his store is archived with his credentials.
  const bobMapping = await h.store.memoryMappings.get(keyOf('U_BOB'));
  const bobStore = bobMapping?.status === 'ready' ? bobMapping.resourceId : undefined;
  await h.driver.event({
    type: 'user_change',
    user: { id: 'U_BOB', team_id: h.sandbox.slack.teamId, deleted: true },
  });
  await h.settle();
  expect(storeNamed(bobStore)?.archived_at).not.toBeNull();
  expect(await h.store.memoryMappings.get(keyOf('U_BOB'))).toBeUndefined();
});
