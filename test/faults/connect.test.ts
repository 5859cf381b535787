import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { PRINCIPAL_METADATA_KEY } from '../../src/vaults/vault-service.js';
import {
  activeCredentials,
  browserSignedInAs,
  connectLink,
  connectMessage,
  runConnect,
} from '../support/connect.js';
import { type Harness, letTimePass, startHarness, vaultIdOf } from '../support/harness.js';
import { startReplica } from '../support/replica.js';

/**
 * Connecting while Managed Agents and the provider misbehave: lost answers, a 409 that is the save's
 * own earlier attempt, a token endpoint that times out after redeeming the code, a flow that expired,
 * and a process frozen between creating a vault and recording it. Nothing lost or doubled, and no
 * token that sits in a vault is ever revoked.
 */
let h: Harness;
beforeEach(async () => {
  h = await startHarness({ outboundTimeoutMs: 1000 });
});
afterEach(() => h.close());

const keyOf = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;
const vaultsNaming = (userId: string) =>
  h.sandbox.managedAgents.vaults().filter((v) => v.metadata?.[PRINCIPAL_METADATA_KEY] === keyOf(userId));

/** What the vault holds for the person: one active credential, whose token the provider issued last. */
async function expectConnected(userId: string, account: string): Promise<void> {
  const vaultId = await vaultIdOf(h, userId);
  const [credential, ...more] = activeCredentials(h, vaultId);
  expect(more).toEqual([]);
  const issued = h.sandbox.providers.notion.tokenRequests.filter(
    (r) => r.outcome === 'issued' && r.accountId === account,
  );
  expect(issued.length).toBeGreaterThan(0);
  const secrets = h.sandbox.managedAgents.credentialSecrets(credential?.id ?? '');
  expect(secrets?.access_token).toBeDefined();
  expect(await h.store.connections.get(keyOf(userId), 'notion')).toMatchObject({
    status: 'connected',
    credentialId: credential?.id,
  });
}

test('a lost answer to credential create: the credential is found in the vault, recorded, and not revoked', async () => {
  await vaultIdOfAfterStatus('U_ALICE');
  h.sandbox.managedAgents.failAt('credential.create', { afterHandling: true, drop: true });
  const link = await connectLink(h, 'U_ALICE', 'notion');
  const run = await letTimePass(h, runConnect(h, link, { signedInAs: 'U_ALICE', account: 'acct_alice' }));
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  await expectConnected('U_ALICE', 'acct_alice');
  expect(h.sandbox.providers.notion.revocations).toEqual([]);
});

test('a 409 after a lost 200 on credential create: the stored credential is the save’s own, and its token is not revoked', async () => {
  await vaultIdOfAfterStatus('U_BOB');
  const lost = h.sandbox.managedAgents.failAt('credential.create', { afterHandling: true, drop: true });
  // The first look for it fails too, so the create is tried again and answers 409.
  void lost.reached.then(() =>
    h.sandbox.managedAgents.injectFault({
      method: 'GET',
      path: /^\/v1\/vaults\/[^/]+\/credentials$/,
      status: 503,
      times: 3,
    }),
  );
  const link = await connectLink(h, 'U_BOB', 'notion');
  const run = await letTimePass(h, runConnect(h, link, { signedInAs: 'U_BOB', account: 'acct_bob' }));
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  const creates = h.sandbox.managedAgents.requests.filter(
    (r) => r.method === 'POST' && /\/credentials$/.test(r.path),
  );
  expect(creates.map((r) => r.status)).toEqual([200, 409]);
  await expectConnected('U_BOB', 'acct_bob');
  expect(h.sandbox.providers.notion.revocations).toEqual([]);
});

test('the token endpoint timing out after redeeming the code (F5): no second redemption, nothing stored, a fresh Connect offered', async () => {
  const notion = h.sandbox.providers.notion;
  notion.setBehaviour({ tokenDelayMs: 3000, tokenDelayAfterRedeem: true });
  const { message, responseUrl } = await connectMessage(h, 'U_ALICE');
  const link = JSON.stringify(message).match(/http:[^"]+\/connect\/[A-Za-z0-9_-]{20,}/)?.[0] ?? '';
  const run = await runConnect(h, link, { signedInAs: 'U_ALICE', account: 'acct_alice' });
  expect(run.page.status).toBe(502);
  expect(run.page.html).toContain('did not complete');
  // The code was redeemed once; a blind retry would have revoked what it bought.
  expect(notion.tokenRequests.filter((r) => r.grantType === 'authorization_code')).toHaveLength(1);
  expect(await h.store.connections.get(keyOf('U_ALICE'), 'notion')).toBeUndefined();
  expect(h.sandbox.managedAgents.credentials()).toEqual([]);
  const refreshed = h.sandbox.slack.callsTo('response_url').filter((c) => c.body.url === responseUrl);
  const fresh = JSON.stringify(refreshed.at(-1)?.body).match(/\/connect\/[A-Za-z0-9_-]{20,}/)?.[0];
  expect(fresh).toBeDefined();
  expect(link).not.toContain(fresh);
});

test('an expired connect flow (F6): the callback is refused plainly, the code never redeemed, nothing stored', async () => {
  const notion = h.sandbox.providers.notion;
  const browser = browserSignedInAs(h, 'U_ALICE');
  const link = await connectLink(h, 'U_ALICE', 'notion');
  const atProvider = await runConnect(h, link, {
    signedInAs: 'U_ALICE',
    browser,
    stopAtProvider: notion.url,
  });
  expect(atProvider.page.stoppedAt).toBeDefined();
  h.clock.advance(10 * 60 * 1000 + 1);
  const consent = await browser.get(atProvider.page.stoppedAt ?? '');
  const late = await browser.submitForm(consent, {
    fields: { account: 'acct_alice' },
    button: { name: 'decision', value: 'approve' },
  });
  expect(late.status).toBe(410);
  expect(notion.tokenRequests).toEqual([]);
  expect(await h.store.connections.get(keyOf('U_ALICE'), 'notion')).toBeUndefined();
  expect(h.sandbox.managedAgents.credentials()).toEqual([]);
});

test('a process frozen between creating a vault and recording it: another replica adopts the vault; none is made twice', async () => {
  const frozen = h.sandbox.managedAgents.failAt('vault.create', { afterHandling: true, hang: true });
  const first = await h.driver.command('U_ALICE', 'status');
  await frozen.reached;
  const replica = await startReplica(h);
  try {
    // Alice asks again, through the other replica, once the frozen one's claim has lapsed.
    const again = await replica.driver.command('U_ALICE', 'status');
    await letTimePass(
      h,
      h.sandbox.slack.waitFor('response_url', (c) => c.body.url === again.responseUrl, 30_000),
      { replica: replica.services },
    );
    expect(vaultsNaming('U_ALICE')).toHaveLength(1);
    // The frozen process wakes up to a lost answer; it finds the vault adopted, and makes none.
    frozen.release();
    await letTimePass(
      h,
      h.sandbox.slack.waitFor('response_url', (c) => c.body.url === first.responseUrl, 30_000),
    );
    await h.settle();
    const [vault] = vaultsNaming('U_ALICE');
    expect(
      h.sandbox.managedAgents
        .vaults({ includeArchived: true })
        .filter((v) => v.metadata?.[PRINCIPAL_METADATA_KEY] === keyOf('U_ALICE')),
    ).toHaveLength(1);
    expect(await h.store.vaultMappings.get(keyOf('U_ALICE'))).toMatchObject({
      status: 'ready',
      resourceId: vault?.id,
    });
  } finally {
    await replica.close();
  }
});

/** The person's vault, made by an `/agent status` (so a fault on credentials meets an existing vault). */
async function vaultIdOfAfterStatus(userId: string): Promise<string> {
  const sent = await h.driver.command(userId, 'status');
  await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
  return vaultIdOf(h, userId);
}
