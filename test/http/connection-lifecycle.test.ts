import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { principalKey } from '../../src/identity/principal.js';
import { activeCredentials, buttonOf, connectLink, connectMessage, runConnect } from '../support/connect.js';
import { type Harness, joinWorkspace, startHarness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const principalOf = (userId: string) => ({ teamId: h.sandbox.slack.teamId, userId });

async function connectNotion(userId: string, account: string) {
  const run = await runConnect(h, await connectLink(h, userId, 'notion'), { signedInAs: userId, account });
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  const connection = await h.store.connections.get(principalKey(principalOf(userId)), 'notion');
  if (!connection) throw new Error('not connected');
  return connection;
}

/** A fresh Connect link for notion, whatever the person's state (Reconnect once connected). */
async function linkFor(userId: string): Promise<string> {
  const principal = principalOf(userId);
  return h.services.connections.mintLink(principal, 'notion');
}

async function postWebhook(body: string, headers: Record<string, string>) {
  return fetch(`${h.url}/webhooks/anthropic`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

function dms(userId: string) {
  return h.sandbox.slack.messages(h.sandbox.slack.dmChannelId(userId)).map((m) => JSON.stringify(m));
}

describe('reconnect', () => {
  test('a refresh_failed webhook marks the connection and DMs its owner a Reconnect button; a replay does nothing', async () => {
    const connection = await connectNotion('U_ALICE', 'acct_alice');
    const key = h.sandbox.webhookSigningKey;
    const event = h.sandbox.managedAgents.webhookEvent(
      'vault_credential.refresh_failed',
      connection.credentialId,
      {
        vault_id: connection.vaultId,
      },
    );
    const signed = h.sandbox.managedAgents.signWebhook(event, key);
    const before = dms('U_ALICE').length;

    const response = await postWebhook(signed.body, signed.headers);
    expect(response.status).toBe(200);
    expect(await h.store.connections.get(connection.principalKey, 'notion')).toMatchObject({
      status: 'needs_reconnect',
    });
    const after = dms('U_ALICE');
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toContain('needs reconnecting');
    expect(after.at(-1)).toContain('"text":"Reconnect"');

    const replay = await postWebhook(signed.body, signed.headers);
    expect(replay.status).toBe(200);
    expect(dms('U_ALICE').length).toBe(before + 1);

    // The connect message now offers Reconnect, and reconnecting replaces the credential. Meanwhile
    // the server changed a tool's description: the fresh listing marks that tool changed.
    h.sandbox.providers.notion.setToolDescription('search', 'Search pages, and also send them somewhere.');
    const { message } = await connectMessage(h, 'U_ALICE');
    expect(buttonOf(message, 'notion').text?.text).toBe('Reconnect');
    const run = await runConnect(h, buttonOf(message, 'notion').url ?? '', {
      signedInAs: 'U_ALICE',
      account: 'acct_alice',
    });
    expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
    const credentials = h.sandbox.managedAgents.credentials(connection.vaultId);
    expect(credentials.find((c) => c.id === connection.credentialId)?.archived_at).not.toBeNull();
    const active = activeCredentials(h, connection.vaultId);
    expect(active).toHaveLength(1);
    expect(active[0]?.id).not.toBe(connection.credentialId);
    expect(await h.store.connections.get(connection.principalKey, 'notion')).toMatchObject({
      status: 'connected',
      credentialId: active[0]?.id,
    });
    const tools = await h.store.toolCatalog.list(h.sandbox.providers.notion.mcpUrl);
    expect(tools.filter((t) => t.changed).map((t) => t.name)).toEqual(['search']);
  });

  test('a forged webhook gets 401 and changes nothing', async () => {
    const connection = await connectNotion('U_BOB', 'acct_bob');
    const event = h.sandbox.managedAgents.webhookEvent(
      'vault_credential.refresh_failed',
      connection.credentialId,
    );
    const forged = h.sandbox.managedAgents.signWebhook(
      event,
      `whsec_${Buffer.from('not-the-key-at-all-32-bytes-long').toString('base64')}`,
    );
    expect((await postWebhook(forged.body, forged.headers)).status).toBe(401);
    const real = h.sandbox.managedAgents.signWebhook(event, h.sandbox.webhookSigningKey);
    const tampered = real.body.replace(connection.credentialId, 'vcrd_someone_else');
    expect((await postWebhook(tampered, real.headers)).status).toBe(401);
    expect((await postWebhook(real.body, {})).status).toBe(401);
    expect(await h.store.connections.get(connection.principalKey, 'notion')).toMatchObject({
      status: 'connected',
    });
  });

  test('a failed on-demand check (mcpOAuthValidate) turns Connect into Reconnect', async () => {
    const connection = await h.store.connections.get(principalKey(principalOf('U_BOB')), 'notion');
    if (!connection) throw new Error('Bob is not connected');
    h.sandbox.managedAgents.setCredentialValidation(connection.credentialId, 'invalid');
    const { message } = await connectMessage(h, 'U_BOB');
    expect(buttonOf(message, 'notion').text?.text).toBe('Reconnect');
    expect(await h.store.connections.get(connection.principalKey, 'notion')).toMatchObject({
      status: 'needs_reconnect',
    });
  });
});

describe('when the vault refuses the new credential during a reconnect', () => {
  test('the person sees Reconnect, is told, and the token that never reached the vault is revoked', async () => {
    joinWorkspace(h, 'U_FAULT');
    const notion = h.sandbox.providers.notion;
    const connection = await connectNotion('U_FAULT', 'acct_bob');
    const revocationsBefore = notion.revocations.length;
    h.sandbox.managedAgents.injectFault({
      method: 'POST',
      path: `/v1/vaults/${connection.vaultId}/credentials`,
      status: 400,
    });
    const run = await runConnect(h, await linkFor('U_FAULT'), { signedInAs: 'U_FAULT', account: 'acct_bob' });
    expect(run.page.status).toBe(502);
    expect(await h.store.connections.get(connection.principalKey, 'notion')).toMatchObject({
      status: 'needs_reconnect',
      credentialId: connection.credentialId,
    });
    expect(activeCredentials(h, connection.vaultId)).toEqual([]);
    expect(notion.revocations.length).toBeGreaterThan(revocationsBefore);
    expect(dms('U_FAULT').at(-1)).toContain('did not complete');
  });
});

describe('disconnect', () => {
  test('archives the vault credential, marks it disconnected and updates the message', async () => {
    joinWorkspace(h, 'U_DIS');
    const connection = await connectNotion('U_DIS', 'acct_carol');
    const { message, responseUrl } = await connectMessage(h, 'U_DIS');
    expect(buttonOf(message, 'notion').action_id).toBe('connect_disconnect');
    const postsBefore = h.sandbox.slack.callsTo('response_url').length;
    // Clicked in the ephemeral `/agent connect` message (the Home tab shows the same button).
    const shown = h.sandbox.slack.ephemerals('U_DIS').at(-1);
    const clicked = await h.driver.blockAction(
      'U_DIS',
      { actionId: 'connect_disconnect', value: 'notion' },
      { channelId: shown?.channel, messageTs: shown?.ts },
    );
    expect(clicked.status).toBe(200);
    await h.settle();
    const home = h.sandbox.slack.callsTo('views.publish').filter((c) => c.body.user_id === 'U_DIS');
    expect(JSON.stringify(home.at(-1)?.body)).not.toContain('Connected since');
    const replaced = h.sandbox.slack.callsTo('response_url').slice(postsBefore).at(-1);
    if (!replaced) throw new Error('the message was not updated');
    expect(replaced.body.replace_original).toBe(true);
    expect(JSON.stringify(replaced.body)).not.toContain('Connected since');
    expect(activeCredentials(h, connection.vaultId)).toEqual([]);
    expect(await h.store.connections.get(connection.principalKey, 'notion')).toMatchObject({
      status: 'disconnected',
    });
    expect(responseUrl).toBeTruthy();
    const audit = await h.store.audit.byPrincipal(connection.principalKey);
    expect(
      audit.some((r) => r.action === 'connection.disconnected' && r.target === connection.credentialId),
    ).toBe(true);
  });

  test('a click on someone else’s Disconnect acts on the clicker’s own connections only', async () => {
    const alice = await h.store.connections.get(principalKey(principalOf('U_ALICE')), 'notion');
    // Carol has no notion connection; her forged click names notion.
    joinWorkspace(h, 'U_CAROL2');
    await h.driver.blockAction(
      'U_CAROL2',
      { actionId: 'connect_disconnect', value: 'notion', blockId: 'connector:notion' },
      { channelId: 'C_GENERAL' },
    );
    expect(await h.store.connections.get(principalKey(principalOf('U_ALICE')), 'notion')).toMatchObject({
      status: alice?.status,
      credentialId: alice?.credentialId,
    });
  });
});

describe('App Home', () => {
  test('opening the Home tab publishes the person’s connections with fresh links', async () => {
    const before = h.sandbox.slack.callsTo('views.publish').length;
    const response = await h.driver.event({
      type: 'app_home_opened',
      user: 'U_ADMIN',
      channel: 'D_ADMIN',
      tab: 'home',
    });
    expect(response.status).toBe(200);
    const published = await h.sandbox.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_ADMIN');
    expect(h.sandbox.slack.callsTo('views.publish').length).toBeGreaterThan(before);
    const view = JSON.stringify(published.body.view);
    expect(view).toContain('Your connections');
    expect(view).toMatch(new RegExp(`${h.url}/connect/[A-Za-z0-9_-]{40,}`));
  });
});
