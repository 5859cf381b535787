import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { principalKey } from '../../src/identity/principal.js';
import {
  activeCredentials,
  browserSignedInAs,
  buttonOf,
  connectLink,
  connectMessage,
  runConnect,
} from '../support/connect.js';
import { type Harness, joinWorkspace, startHarness, vaultIdOf } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => {
  for (const provider of Object.values(h.sandbox.providers)) provider.resetBehaviour();
});

const principalOf = (userId: string) => ({ teamId: h.sandbox.slack.teamId, userId });

/** Nothing about `connectorId` was stored for this person: no connection, no credential. */
async function expectNothingStored(userId: string, connectorId: string, mcpUrl: string) {
  expect(await h.store.connections.get(principalKey(principalOf(userId)), connectorId)).toBeUndefined();
  const mapping = await h.store.vaultMappings.get(principalKey(principalOf(userId)));
  if (mapping?.status === 'ready') {
    expect(
      activeCredentials(h, mapping.resourceId).filter(
        (c) => 'mcp_server_url' in c.auth && c.auth.mcp_server_url === mcpUrl,
      ),
    ).toEqual([]);
  }
}

/** The latest DM the app sent this person. */
function lastDm(userId: string): string {
  return JSON.stringify(h.sandbox.slack.messages(h.sandbox.slack.dmChannelId(userId)).at(-1) ?? {});
}

describe('/agent connect', () => {
  test('lists every connector with the caller’s state and one button each, privately', async () => {
    const { message } = await connectMessage(h, 'U_BOB');
    expect(JSON.stringify(message)).toContain('"response_type":"ephemeral"');
    for (const id of ['notion', 'github', 'linear']) expect(buttonOf(message, id).text?.text).toBe('Connect');
    expect(buttonOf(message, 'notion').url).toMatch(new RegExp(`^${h.url}/connect/[A-Za-z0-9_-]{40,}$`));
    expect(buttonOf(message, 'linear').action_id).toBe('connect_paste_token');
  });
});

describe('connecting with MCP OAuth (discovery, dynamic registration, PKCE, resource)', () => {
  test('end to end: the token lands in the person’s own vault, and the MCP server sees it as theirs', async () => {
    const notion = h.sandbox.providers.notion;
    const { message, responseUrl } = await connectMessage(h, 'U_ALICE');
    const link = buttonOf(message, 'notion').url ?? '';
    const run = await runConnect(h, link, { signedInAs: 'U_ALICE', account: 'acct_alice' });
    expect(run.page.status).toBe(200);
    expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
    expect(run.page.html).toContain('Connected');

    // The authorization request carried state, PKCE S256 and the resource.
    const authorize = new URL(run.urls.find((u) => u.startsWith(`${notion.url}/authorize`)) ?? '');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('resource')).toBe(notion.mcpUrl);

    const vaultId = await vaultIdOf(h, 'U_ALICE');
    const [credential, ...others] = activeCredentials(h, vaultId);
    expect(others).toEqual([]);
    expect(credential?.auth).toMatchObject({ type: 'mcp_oauth', mcp_server_url: notion.mcpUrl });
    const secrets = h.sandbox.managedAgents.credentialSecrets(credential?.id ?? '');
    expect(notion.tokenInfo(String(secrets?.access_token))).toMatchObject({
      accountId: 'acct_alice',
      active: true,
    });
    expect(notion.tokenInfo(String(secrets?.refresh_token))).toMatchObject({
      kind: 'refresh_token',
      accountId: 'acct_alice',
    });

    // Tool discovery ran with the fresh token, as Alice, and the catalog was kept.
    expect(notion.mcpRequests.some((r) => r.method === 'tools/list' && r.accountId === 'acct_alice')).toBe(
      true,
    );
    const tools = await h.store.toolCatalog.list(notion.mcpUrl);
    expect(tools.map((t) => t.name).sort()).toEqual(['create_page', 'delete_page', 'fetch_page', 'search']);

    // The message updated in place, a DM confirmed it, and the Home tab shows it.
    const replaced = await h.sandbox.slack.waitFor(
      'response_url',
      (c) => c.body.url === responseUrl && c.body.replace_original === true,
    );
    expect(JSON.stringify(replaced.body)).toContain('Connected since');
    expect(lastDm('U_ALICE')).toContain('Notion (sandbox) is connected');
    expect(JSON.stringify(h.sandbox.slack.homeView('U_ALICE'))).toContain('Connected since');
    const audit = await h.store.audit.byPrincipal(principalKey(principalOf('U_ALICE')));
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['connect.started', 'connection.connected']),
    );
  });

  test('an agent session bound to the vault calls the MCP server with that person’s token', async () => {
    const notion = h.sandbox.providers.notion;
    const vaultId = await vaultIdOf(h, 'U_ALICE');
    const environment = await h.anthropic.beta.environments.create({ name: `env-${Date.now()}` });
    const agent = await h.anthropic.beta.agents.create({
      name: 'reader',
      model: 'claude-sonnet-4-6',
      mcp_servers: [{ type: 'url', name: 'notion', url: notion.mcpUrl }],
      tools: [
        {
          type: 'mcp_toolset',
          mcp_server_name: 'notion',
          default_config: { enabled: false },
          configs: [{ name: 'search', enabled: true, permission_policy: { type: 'always_allow' } }],
        },
      ],
    });
    const before = notion.callsBy('acct_alice').length;
    const session = await h.anthropic.beta.sessions.create({
      agent: agent.id,
      environment_id: environment.id,
      vault_ids: [vaultId],
      initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'search welcome' }] }],
    });
    await h.sandbox.managedAgents.settled(session.id);
    const calls = notion.callsBy('acct_alice');
    expect(calls.length).toBe(before + 1);
    expect(calls.at(-1)).toMatchObject({ tool: 'search', accountId: 'acct_alice' });
  });
});

describe('connecting with a pre-registered OAuth client', () => {
  test('end to end: the vault credential refreshes with the client’s own secret', async () => {
    const github = h.sandbox.providers.github;
    const link = await connectLink(h, 'U_BOB', 'github');
    const run = await runConnect(h, link, { signedInAs: 'U_BOB', account: 'acct_bob' });
    expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
    const [credential, ...others] = activeCredentials(h, await vaultIdOf(h, 'U_BOB'));
    expect(others).toEqual([]);
    expect(credential?.auth).toMatchObject({
      type: 'mcp_oauth',
      mcp_server_url: github.mcpUrl,
      refresh: {
        client_id: 'sandbox-github-app',
        token_endpoint: `${github.url}/token`,
        token_endpoint_auth: { type: 'client_secret_basic' },
      },
    });
    const secrets = h.sandbox.managedAgents.credentialSecrets(credential?.id ?? '');
    expect(github.tokenInfo(String(secrets?.access_token))).toMatchObject({
      accountId: 'acct_bob',
      clientId: 'sandbox-github-app',
    });
    expect(github.tokenRequests.at(-1)).toMatchObject({
      grantType: 'authorization_code',
      clientAuth: 'client_secret_basic',
    });
  });
});

describe('connecting with a pasted token', () => {
  test('the token from the modal goes into the submitter’s vault and nowhere else', async () => {
    const linear = h.sandbox.providers.linear;
    const token = linear.issuePersonalToken('acct_carol');
    joinWorkspace(h, 'U_CAROL');
    const { message } = await connectMessage(h, 'U_CAROL');
    expect(buttonOf(message, 'linear').action_id).toBe('connect_paste_token');
    await h.driver.blockAction('U_CAROL', { actionId: 'connect_paste_token', value: 'linear' });
    const opened = await h.sandbox.slack.waitFor('views.open');
    const view = opened.body.view as { callback_id: string; private_metadata: string };
    const submitted = await h.driver.viewSubmission('U_CAROL', {
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      stateValues: { token_block: { token_value: token } },
    });
    expect(submitted.status).toBe(200);
    expect(submitted.text).toBe('');
    // Saved after the modal closed; the DM says when it is done.
    await h.sandbox.slack.waitFor('chat.postMessage', (c) =>
      JSON.stringify(c.body).includes('Linear (sandbox) is connected'),
    );
    const [credential, ...others] = activeCredentials(h, await vaultIdOf(h, 'U_CAROL'));
    expect(others).toEqual([]);
    expect(credential?.auth).toEqual({ type: 'static_bearer', mcp_server_url: linear.mcpUrl });
    expect(h.sandbox.managedAgents.credentialSecrets(credential?.id ?? '')).toMatchObject({ token });
  });

  test('a token the server refuses is an inline error, and nothing is stored', async () => {
    joinWorkspace(h, 'U_DAVE');
    await h.driver.blockAction('U_DAVE', { actionId: 'connect_paste_token', value: 'linear' });
    const opened = await h.sandbox.slack.waitFor('views.open', (c) =>
      JSON.stringify(c.body).includes('connect_paste_token_modal'),
    );
    const view = opened.body.view as { callback_id: string; private_metadata: string };
    const submitted = await h.driver.viewSubmission('U_DAVE', {
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      stateValues: { token_block: { token_value: 'prov_at_not-a-real-token' } },
    });
    expect(submitted.json).toEqual({
      response_action: 'errors',
      errors: { token_block: 'Linear (sandbox) did not accept that token.' },
    });
    await expectNothingStored('U_DAVE', 'linear', h.sandbox.providers.linear.mcpUrl);
  });

  test('forged private_metadata naming an OAuth connector is refused inline', async () => {
    const submitted = await h.driver.viewSubmission('U_DAVE', {
      callbackId: 'connect_paste_token_modal',
      privateMetadata: JSON.stringify({ connectorId: 'notion' }),
      stateValues: { token_block: { token_value: 'prov_at_whatever-123' } },
    });
    expect(submitted.json).toMatchObject({ response_action: 'errors' });
    const garbage = await h.driver.viewSubmission('U_DAVE', {
      callbackId: 'connect_paste_token_modal',
      privateMetadata: '{not json',
      stateValues: { token_block: { token_value: 'prov_at_whatever-123' } },
    });
    expect(garbage.json).toMatchObject({ response_action: 'errors' });
    await expectNothingStored('U_DAVE', 'notion', h.sandbox.providers.notion.mcpUrl);
  });
});

describe('refusals', () => {
  test('A’s link opened in a browser signed in as B: a refusal page, no redirect to the provider, nothing stored', async () => {
    joinWorkspace(h, 'U_ERIN');
    const notion = h.sandbox.providers.notion;
    const link = await connectLink(h, 'U_ERIN', 'notion');
    const run = await runConnect(h, link, { signedInAs: 'U_BOB' });
    expect(run.page.status).toBe(403);
    expect(run.page.html).toContain('This link is not yours');
    expect(run.urls.some((u) => u.startsWith(notion.url))).toBe(false);
    await expectNothingStored('U_ERIN', 'notion', notion.mcpUrl);
    const audit = await h.store.audit.byPrincipal(principalKey(principalOf('U_ERIN')));
    expect(audit.find((r) => r.action === 'connect.identity_mismatch')).toMatchObject({
      outcome: 'refused',
      details: { signedInAs: `T:${h.sandbox.slack.teamId}:U_BOB` },
    });
  });

  test('a reused link, an expired link and an unknown one all get 410 (on a fresh clock and sandbox)', async () => {
    const own = await startHarness();
    try {
      const link = await connectLink(own, 'U_BOB', 'notion');
      const first = await browserSignedInAs(own, 'U_BOB').get(link);
      expect(first.status).toBe(200);
      expect(first.html).toContain('Continue to Sign in with Slack');
      const again = await browserSignedInAs(own, 'U_BOB').get(link);
      expect(again.status).toBe(410);
      expect(again.html).toContain('This link has expired');

      const late = await connectLink(own, 'U_BOB', 'notion');
      own.clock.advance(10 * 60 * 1000 - 1);
      const stillGood = await browserSignedInAs(own, 'U_BOB').get(late, { stopAt: () => true });
      expect(stillGood.status).toBe(200);
      const later = await connectLink(own, 'U_BOB', 'notion');
      own.clock.advance(10 * 60 * 1000 + 1);
      const expired = await browserSignedInAs(own, 'U_BOB').get(later);
      expect(expired.status).toBe(410);
      const never = await browserSignedInAs(own, 'U_BOB').get(`${own.url}/connect/${'x'.repeat(43)}`);
      expect(never.status).toBe(410);
    } finally {
      await own.close();
    }
  });

  test('a callback carrying another flow’s state: a clear page, that flow ends, nothing stored, its owner told', async () => {
    joinWorkspace(h, 'U_FRANK');
    joinWorkspace(h, 'U_OLIVE');
    const notion = h.sandbox.providers.notion;
    const frank = await runConnect(h, await connectLink(h, 'U_FRANK', 'notion'), {
      signedInAs: 'U_FRANK',
      stopAtProvider: notion.url,
    });
    const olive = await runConnect(h, await connectLink(h, 'U_OLIVE', 'notion'), {
      signedInAs: 'U_OLIVE',
      stopAtProvider: notion.url,
    });
    const olivesState = olive.page.stoppedAt?.searchParams.get('state');
    expect(olivesState).toBeTruthy();
    // Frank's browser brings a code back with Olive's state: it is not the browser that started her flow.
    const page = await frank.browser.get(`${h.url}/oauth/callback?code=stolen&state=${olivesState}`);
    expect(page.status).toBe(400);
    expect(page.html).toContain('This request cannot be used');
    await expectNothingStored('U_FRANK', 'notion', notion.mcpUrl);
    await expectNothingStored('U_OLIVE', 'notion', notion.mcpUrl);
    // Olive's flow is over: even her own browser's callback can no longer complete it.
    const late = await olive.browser.get(`${h.url}/oauth/callback?code=anything&state=${olivesState}`);
    expect(late.status).toBe(410);
    expect(lastDm('U_OLIVE')).toContain('did not complete');
  });

  test('two connects in one browser keep separate flows, and each completes', async () => {
    joinWorkspace(h, 'U_PAT');
    const notion = h.sandbox.providers.notion;
    const github = h.sandbox.providers.github;
    const browser = browserSignedInAs(h, 'U_PAT');
    const first = await runConnect(h, await connectLink(h, 'U_PAT', 'notion'), {
      signedInAs: 'U_PAT',
      browser,
      stopAtProvider: notion.url,
    });
    const second = await runConnect(h, await connectLink(h, 'U_PAT', 'github'), {
      signedInAs: 'U_PAT',
      browser,
      stopAtProvider: github.url,
    });
    for (const run of [second, first]) {
      const stopped = run.page.stoppedAt;
      if (!stopped) throw new Error('did not reach the provider');
      const done = await runConnect(h, stopped.toString(), {
        signedInAs: 'U_PAT',
        browser,
        account: 'acct_bob',
      });
      expect(done.page.url).toBe(`${h.url}/connect/done/connected`);
    }
    expect(activeCredentials(h, await vaultIdOf(h, 'U_PAT'))).toHaveLength(2);
  });

  test('a callback without the flow’s cookie (so without the PKCE verifier): a clear page, nothing stored, the user told', async () => {
    joinWorkspace(h, 'U_GRACE');
    const notion = h.sandbox.providers.notion;
    const run = await runConnect(h, await connectLink(h, 'U_GRACE', 'notion'), {
      signedInAs: 'U_GRACE',
      stopAtProvider: notion.url,
    });
    const state = run.page.stoppedAt?.searchParams.get('state');
    const bare = await fetch(`${h.url}/oauth/callback?code=whatever&state=${state}`, { redirect: 'manual' });
    expect(bare.status).toBe(400);
    expect(bare.headers.get('cache-control')).toBe('no-store');
    await expectNothingStored('U_GRACE', 'notion', notion.mcpUrl);
    expect(lastDm('U_GRACE')).toContain('did not complete');
  });

  test('error=access_denied from the provider: a clear page, nothing stored, the user told', async () => {
    joinWorkspace(h, 'U_HEIDI');
    const run = await runConnect(h, await connectLink(h, 'U_HEIDI', 'notion'), {
      signedInAs: 'U_HEIDI',
      decision: 'deny',
    });
    expect(run.page.status).toBe(200);
    expect(run.page.html).toContain('Nothing was connected');
    await expectNothingStored('U_HEIDI', 'notion', h.sandbox.providers.notion.mcpUrl);
    expect(lastDm('U_HEIDI')).toContain('did not allow');
  });

  test('a token endpoint that fails: a clear page, nothing stored, the user told', async () => {
    joinWorkspace(h, 'U_IVAN');
    h.sandbox.providers.notion.setBehaviour({ tokenEndpoint: 'server_error' });
    const run = await runConnect(h, await connectLink(h, 'U_IVAN', 'notion'), { signedInAs: 'U_IVAN' });
    expect(run.page.status).toBe(502);
    expect(run.page.html).toContain('The connection did not complete');
    await expectNothingStored('U_IVAN', 'notion', h.sandbox.providers.notion.mcpUrl);
    expect(lastDm('U_IVAN')).toContain('did not complete');
  });

  test('metadata without S256, or a resource that is not the server: refused before any redirect to the provider', async () => {
    joinWorkspace(h, 'U_JUDY');
    const notion = h.sandbox.providers.notion;
    for (const behaviour of [{ withoutS256: true }, { resourceMismatch: true }]) {
      notion.setBehaviour(behaviour);
      const run = await runConnect(h, await connectLink(h, 'U_JUDY', 'notion'), { signedInAs: 'U_JUDY' });
      expect(run.page.status).toBe(502);
      expect(run.page.html).toContain('This server cannot be connected');
      expect(run.urls.some((u) => u.startsWith(`${notion.url}/authorize`))).toBe(false);
      notion.resetBehaviour();
    }
    await expectNothingStored('U_JUDY', 'notion', notion.mcpUrl);
  });

  test('pages carry no-store, no-referrer and a strict CSP, and load nothing from elsewhere', async () => {
    const page = await browserSignedInAs(h, 'U_BOB').get(`${h.url}/connect/${'y'.repeat(43)}`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'.*frame-ancestors 'none'/,
    );
    expect(page.html).not.toMatch(/(src|href)=|https?:\/\//);
  });
});
