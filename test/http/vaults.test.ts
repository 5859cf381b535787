import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SlackDriver } from '../../sandbox/slack/driver.js';
import { SlackEmulator } from '../../sandbox/slack/emulator.js';
import { PRINCIPAL_METADATA_KEY } from '../../src/vaults/vault-service.js';
import { type Harness, joinWorkspace, startHarness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const keyOf = (userId: string, teamId = h.sandbox.slack.teamId) => `T:${teamId}:${userId}`;

async function vaultsNaming(principalKey: string, includeArchived = false) {
  const vaults = [];
  for await (const v of h.anthropic.beta.vaults.list({ include_archived: includeArchived })) {
    if (v.metadata[PRINCIPAL_METADATA_KEY] === principalKey) vaults.push(v);
  }
  return vaults;
}

/** Runs `/agent status` through the given Slack and returns the text of what the user saw. */
async function status(userId: string, driver = h.driver, slack = h.sandbox.slack): Promise<string> {
  const sent = await driver.command(userId, 'status');
  expect(sent.status).toBe(200);
  const call = await slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl, 10_000);
  return JSON.stringify(call.body.blocks);
}

describe('one vault per principal', () => {
  test('20 concurrent first requests from one user end with one vault and one mapping', async () => {
    joinWorkspace(h, 'U_RUSH');
    const replies = await Promise.all(Array.from({ length: 20 }, () => status('U_RUSH')));
    const vaults = await vaultsNaming(keyOf('U_RUSH'), true);
    expect(vaults).toHaveLength(1);
    const vaultId = vaults[0]?.id ?? '';
    for (const reply of replies) expect(reply).toContain(vaultId);
    expect(await h.store.vaultMappings.get(keyOf('U_RUSH'))).toMatchObject({
      status: 'ready',
      resourceId: vaultId,
    });
    const created = (await h.store.audit.byPrincipal(keyOf('U_RUSH'))).filter(
      (r) => r.action === 'vault.created',
    );
    expect(created).toHaveLength(1);
  });

  test('a mapping that points at a vault naming someone else is refused, audited, and the vault is not used', async () => {
    joinWorkspace(h, 'U_MALLORY');
    await status('U_BOB');
    const [bobsVault] = await vaultsNaming(keyOf('U_BOB'));
    if (!bobsVault) throw new Error('Bob has no vault');
    // Corrupt the store: Mallory's mapping names Bob's vault.
    const mappings = h.store.vaultMappings;
    const mallory = { teamId: h.sandbox.slack.teamId, userId: 'U_MALLORY' };
    await mappings.claim(keyOf('U_MALLORY'), mallory, 'claim_corrupt', h.clock.now() + 60_000);
    await mappings.complete(keyOf('U_MALLORY'), 'claim_corrupt', bobsVault.id, h.clock.now());
    const requestsBefore = h.sandbox.managedAgents.requests.length;

    const reply = await status('U_MALLORY');
    expect(reply).toContain('refused');
    expect(reply).toContain(bobsVault.id);
    expect(reply).not.toContain('(since');
    const newRequests = h.sandbox.managedAgents.requests.slice(requestsBefore);
    // Only the ownership check read the vault: no credential listing, no vault created.
    expect(newRequests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /v1/vaults/${bobsVault.id}`]);
    const audit = await h.store.audit.byPrincipal(keyOf('U_MALLORY'));
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'vault.mismatch_refused',
        outcome: 'refused',
        target: bobsVault.id,
        details: { reason: 'metadata_names_another_principal' },
      }),
    ]);
  });

  test('a vault orphaned by a crash between creating it and recording it is adopted, not duplicated', async () => {
    joinWorkspace(h, 'U_CRASH');
    const key = keyOf('U_CRASH');
    const principal = { teamId: h.sandbox.slack.teamId, userId: 'U_CRASH' };
    // The state a crashed request leaves behind: its claim (lease expired) and the vault it created.
    await h.store.vaultMappings.claim(key, principal, 'claim_crashed', h.clock.now() - 1);
    const orphan = await h.anthropic.beta.vaults.create({
      display_name: 'Deputy: U_CRASH',
      metadata: { [PRINCIPAL_METADATA_KEY]: key },
    });

    const reply = await status('U_CRASH');
    expect(reply).toContain(`\`${orphan.id}\` (since `);
    expect((await vaultsNaming(key, true)).map((v) => v.id)).toEqual([orphan.id]);
    expect(await h.store.vaultMappings.get(key)).toMatchObject({
      status: 'ready',
      resourceId: orphan.id,
    });
    const actions = (await h.store.audit.byPrincipal(key)).map((r) => [r.action, r.target]);
    expect(actions).toEqual([['vault.adopted', orphan.id]]);
  });

  test('a live claim is not taken over: the waiting request gets the vault its holder records', async () => {
    joinWorkspace(h, 'U_SLOW');
    const key = keyOf('U_SLOW');
    const principal = { teamId: h.sandbox.slack.teamId, userId: 'U_SLOW' };
    await h.store.vaultMappings.claim(key, principal, 'claim_live', h.clock.now() + 60_000);
    const sent = await h.driver.command('U_SLOW', 'status');
    // The request now waits on the clock for the holder to record its vault.
    await h.settle();
    expect(h.sandbox.slack.callsTo('response_url').filter((c) => c.body.url === sent.responseUrl)).toEqual(
      [],
    );
    const vault = await h.anthropic.beta.vaults.create({
      display_name: 'slow',
      metadata: { [PRINCIPAL_METADATA_KEY]: key },
    });
    await h.store.vaultMappings.complete(key, 'claim_live', vault.id, h.clock.now());
    h.clock.advance(400);
    const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
    expect(JSON.stringify(reply.body.blocks)).toContain(vault.id);
    expect(await vaultsNaming(key, true)).toHaveLength(1);
  });
});

describe('crash recovery over time (on a fresh clock and sandbox)', () => {
  let shared: Harness;
  beforeAll(async () => {
    shared = h;
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
    h = shared;
  });

  test('after repeated crashes the oldest orphan is adopted and the others archived', async () => {
    joinWorkspace(h, 'U_CRASH2');
    const key = keyOf('U_CRASH2');
    const principal = { teamId: h.sandbox.slack.teamId, userId: 'U_CRASH2' };
    await h.store.vaultMappings.claim(key, principal, 'claim_crashed', h.clock.now() - 1);
    const first = await h.anthropic.beta.vaults.create({
      display_name: 'one',
      metadata: { [PRINCIPAL_METADATA_KEY]: key },
    });
    h.clock.advance(1000); // a later crash: a later created_at
    const second = await h.anthropic.beta.vaults.create({
      display_name: 'two',
      metadata: { [PRINCIPAL_METADATA_KEY]: key },
    });

    expect(await status('U_CRASH2')).toContain(first.id);
    expect((await vaultsNaming(key)).map((v) => v.id)).toEqual([first.id]);
    expect((await h.anthropic.beta.vaults.retrieve(second.id)).archived_at).not.toBeNull();
  });
});

describe('principals across workspaces', () => {
  const others: SlackEmulator[] = [];
  afterAll(async () => {
    for (const slack of others) await slack.close();
  });

  async function workspace(teamId: string, enterpriseId?: string) {
    const slack = await SlackEmulator.start({ teamId, ...(enterpriseId ? { enterpriseId } : {}) });
    others.push(slack);
    const driver = new SlackDriver({
      appUrl: h.url,
      signingSecret: h.sandbox.signingSecret,
      slack,
      clock: h.clock,
    });
    return { slack, driver };
  }

  test('the same user ID in two workspaces is two people with two vaults', async () => {
    const a = await workspace('T_WS_A');
    const b = await workspace('T_WS_B');
    await status('U_ALICE', a.driver, a.slack);
    await status('U_ALICE', b.driver, b.slack);
    const [inA] = await vaultsNaming('T:T_WS_A:U_ALICE');
    const [inB] = await vaultsNaming('T:T_WS_B:U_ALICE');
    expect(inA?.id).toBeDefined();
    expect(inB?.id).toBeDefined();
    expect(inA?.id).not.toBe(inB?.id);
  });

  test('on Enterprise Grid one user is one person across the org’s workspaces, with one vault', async () => {
    const one = await workspace('T_GRID_1', 'E_ORG');
    const two = await workspace('T_GRID_2', 'E_ORG');
    const first = await status('U_ALICE', one.driver, one.slack);
    const second = await status('U_ALICE', two.driver, two.slack);
    const vaults = await vaultsNaming('E:E_ORG:U_ALICE');
    expect(vaults).toHaveLength(1);
    expect(first).toContain(vaults[0]?.id);
    expect(second).toContain(vaults[0]?.id);
    expect(second).toContain('E_ORG');
  });
});
