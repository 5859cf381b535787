import Anthropic from '@anthropic-ai/sdk';
import type { BetaManagedAgentsStreamSessionEvents } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ManagedAgentsEmulator } from '../../sandbox/managed-agents/index.js';

/**
 * Conformance of the Managed Agents emulator, driven through the real @anthropic-ai/sdk:
 * if the SDK cannot tell it from the API on these paths, neither can Deputy.
 */

let emulator: ManagedAgentsEmulator;
let client: Anthropic;
let environmentId: string;

const BETA = { 'anthropic-beta': 'managed-agents-2026-04-01' };
const MCP_URL = 'https://mcp.example.com/mcp';

beforeAll(async () => {
  emulator = await ManagedAgentsEmulator.start();
  client = new Anthropic({ apiKey: emulator.apiKey, baseURL: emulator.url, maxRetries: 0 });
  environmentId = (await client.beta.environments.create({ name: 'conformance' })).id;
});

afterAll(async () => {
  await emulator.close();
});

let counter = 0;
const unique = (label: string): string => `${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

const future = (): string => new Date(Date.now() + 3_600_000).toISOString();

async function newVault(metadata: Record<string, string> = {}) {
  return client.beta.vaults.create({ display_name: unique('vault'), metadata });
}

async function newAgent(name = unique('agent')) {
  return client.beta.agents.create({
    name,
    model: 'claude-sonnet-4-6',
    mcp_servers: [{ type: 'url', name: 'notion', url: MCP_URL }],
    tools: [
      {
        type: 'mcp_toolset',
        mcp_server_name: 'notion',
        default_config: { enabled: false },
        configs: [{ name: 'notion-search', enabled: true, permission_policy: { type: 'always_allow' } }],
      },
    ],
  });
}

/** Reads the SSE stream until `last` matches (the stream has no end of its own). */
async function readUntil(
  stream: AsyncIterable<BetaManagedAgentsStreamSessionEvents>,
  last: (event: BetaManagedAgentsStreamSessionEvents) => boolean,
): Promise<BetaManagedAgentsStreamSessionEvents[]> {
  const seen: BetaManagedAgentsStreamSessionEvents[] = [];
  for await (const event of stream) {
    seen.push(event);
    if (last(event)) break;
  }
  return seen;
}

const turnEnded = (event: BetaManagedAgentsStreamSessionEvents): boolean =>
  event.type === 'session.status_idle' && event.stop_reason.type !== 'requires_action';

describe('authentication and headers', () => {
  test('a client with a wrong API key gets 401 authentication_error from the SDK', async () => {
    const stranger = new Anthropic({ apiKey: 'sk-wrong', baseURL: emulator.url, maxRetries: 0 });
    const error = await stranger.beta.vaults.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).type).toBe('authentication_error');
  });

  test('a request without any key is 401 with the error envelope and a request-id header', async () => {
    const response = await fetch(`${emulator.url}/v1/vaults`, { headers: BETA });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { type: string; error: { type: string }; request_id: string };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('authentication_error');
    expect(body.request_id).toMatch(/^req_/);
    expect(response.headers.get('request-id')).toBe(body.request_id);
  });

  test('the key is accepted as x-api-key as well as Authorization: Bearer', async () => {
    const response = await fetch(`${emulator.url}/v1/vaults`, {
      headers: { ...BETA, 'x-api-key': emulator.apiKey },
    });
    expect(response.status).toBe(200);
  });

  test('a request without the managed-agents beta header is 400 invalid_request_error', async () => {
    const response = await fetch(`${emulator.url}/v1/vaults`, {
      headers: { 'x-api-key': emulator.apiKey, 'anthropic-beta': 'some-other-beta' },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  test('a baseURL path prefix is kept out of routing and ?beta=true is ignored', async () => {
    const prefixed = new Anthropic({
      apiKey: emulator.apiKey,
      baseURL: `${emulator.url}/prefix`,
      maxRetries: 0,
    });
    const vault = await prefixed.beta.vaults.create({ display_name: unique('prefixed') });
    const response = await fetch(`${emulator.url}/v1/vaults/${vault.id}?beta=true`, {
      headers: { ...BETA, authorization: `Bearer ${emulator.apiKey}` },
    });
    expect(response.status).toBe(200);
  });

  test('every request is recorded with its method, path, parsed body and status', async () => {
    const vault = await newVault({ owner: 'U1' });
    const recorded = emulator.requests.find(
      (r) =>
        r.method === 'POST' &&
        r.status === 200 &&
        r.path === '/v1/vaults' &&
        (r.body as { display_name?: string }).display_name === vault.display_name,
    );
    expect(recorded?.body).toEqual({ display_name: vault.display_name, metadata: { owner: 'U1' } });
    expect(recorded?.headers['anthropic-beta']).toContain('managed-agents-2026-04-01');
    expect(recorded?.headers.authorization).toBeUndefined();
  });
});

describe('vaults', () => {
  test('create, retrieve, update (metadata patch with null deletes) and delete', async () => {
    const created = await client.beta.vaults.create({ display_name: 'Alice', metadata: { a: '1', b: '2' } });
    expect(created).toMatchObject({
      type: 'vault',
      display_name: 'Alice',
      metadata: { a: '1', b: '2' },
      archived_at: null,
    });
    expect(created.id).toMatch(/^vlt_/);
    expect(await client.beta.vaults.retrieve(created.id)).toEqual(created);

    const updated = await client.beta.vaults.update(created.id, {
      display_name: 'Alice B',
      metadata: { a: null, c: '3' },
    });
    expect(updated.display_name).toBe('Alice B');
    expect(updated.metadata).toEqual({ b: '2', c: '3' });

    expect(await client.beta.vaults.delete(created.id)).toEqual({ id: created.id, type: 'vault_deleted' });
    await expect(client.beta.vaults.retrieve(created.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  test('the SDK auto-pager walks every page of vaults with limit and page cursors', async () => {
    const tag = unique('batch');
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await newVault({ batch: tag })).id);
    const before = emulator.requests.length;

    const listed: string[] = [];
    for await (const vault of client.beta.vaults.list({ limit: 2 })) {
      if (vault.metadata.batch === tag) listed.push(vault.id);
    }
    expect(listed.sort()).toEqual([...ids].sort());
    const pages = emulator.requests.slice(before).filter((r) => r.path === '/v1/vaults');
    expect(pages.length).toBeGreaterThan(2);
    expect(pages[0]?.query).toEqual({ limit: '2' });
    expect(pages[1]?.query.page).toEqual(expect.any(String));
  });

  test('lists are newest first and pages neither repeat nor skip items', async () => {
    const first = await client.beta.vaults.list({ limit: 3 });
    expect(first.data).toHaveLength(3);
    expect(first.next_page).toEqual(expect.any(String));
    const second = await client.beta.vaults.list({ limit: 3, page: first.next_page ?? '' });
    const firstIds = first.data.map((v) => v.id);
    expect(second.data.some((v) => firstIds.includes(v.id))).toBe(false);
    const stamps = first.data.map((v) => v.created_at);
    expect([...stamps].sort().reverse()).toEqual(stamps);
  });

  test('archived vaults are left out of lists unless include_archived=true', async () => {
    const vault = await newVault();
    const archived = await client.beta.vaults.archive(vault.id);
    expect(archived.archived_at).toEqual(expect.any(String));
    const ids = async (includeArchived: boolean) => {
      const found: string[] = [];
      for await (const v of client.beta.vaults.list({ include_archived: includeArchived, limit: 100 }))
        found.push(v.id);
      return found;
    };
    expect(await ids(false)).not.toContain(vault.id);
    expect(await ids(true)).toContain(vault.id);
    expect(emulator.vaultCount({ includeArchived: true })).toBeGreaterThan(emulator.vaultCount());
  });

  test('display_name outside 1-255 chars and metadata over the limits are 400', async () => {
    const bad = [
      { display_name: '' },
      { display_name: 'x'.repeat(256) },
      {
        display_name: 'ok',
        metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])),
      },
      { display_name: 'ok', metadata: { ['k'.repeat(65)]: 'v' } },
      { display_name: 'ok', metadata: { k: 'v'.repeat(513) } },
    ];
    for (const params of bad) {
      await expect(client.beta.vaults.create(params)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    }
  });
});

describe('vault credentials', () => {
  test('secrets are stored but never returned by create, retrieve, list or update', async () => {
    const canary = unique('CANARY');
    const vault = await newVault();
    const creates = [
      {
        display_name: 'oauth',
        auth: {
          type: 'mcp_oauth' as const,
          mcp_server_url: 'https://oauth.example.com/mcp',
          access_token: `${canary}-access`,
          expires_at: future(),
          refresh: {
            refresh_token: `${canary}-refresh`,
            client_id: 'client-1',
            token_endpoint: 'https://oauth.example.com/token',
            token_endpoint_auth: {
              type: 'client_secret_post' as const,
              client_secret: `${canary}-client-secret`,
            },
          },
        },
      },
      {
        auth: {
          type: 'static_bearer' as const,
          mcp_server_url: 'https://static.example.com/mcp',
          token: `${canary}-token`,
        },
      },
      {
        auth: {
          type: 'environment_variable' as const,
          secret_name: 'API_KEY',
          secret_value: `${canary}-value`,
          networking: { type: 'limited' as const, allowed_hosts: ['api.example.com'] },
        },
      },
    ];
    const raw: string[] = [];
    const ids: string[] = [];
    for (const params of creates) {
      const response = await client.beta.vaults.credentials.create(vault.id, params).asResponse();
      const text = await response.text();
      raw.push(text);
      ids.push((JSON.parse(text) as { id: string }).id);
    }
    for (const id of ids) {
      raw.push(
        await (await client.beta.vaults.credentials.retrieve(id, { vault_id: vault.id }).asResponse()).text(),
      );
    }
    raw.push(await (await client.beta.vaults.credentials.list(vault.id).asResponse()).text());
    const [oauthId, staticId] = ids;
    const update = client.beta.vaults.credentials.update(oauthId ?? '', {
      vault_id: vault.id,
      auth: {
        type: 'mcp_oauth',
        access_token: `${canary}-access-2`,
        expires_at: future(),
        refresh: {
          refresh_token: `${canary}-refresh-2`,
          token_endpoint_auth: { type: 'client_secret_post', client_secret: `${canary}-cs-2` },
        },
      },
    });
    raw.push(await (await update.asResponse()).text());
    raw.push(
      await (
        await client.beta.vaults.credentials
          .update(staticId ?? '', {
            vault_id: vault.id,
            auth: { type: 'static_bearer', token: `${canary}-token-2` },
          })
          .asResponse()
      ).text(),
    );

    for (const text of raw) expect(text).not.toContain(canary);
    const oauth = await client.beta.vaults.credentials.retrieve(oauthId ?? '', { vault_id: vault.id });
    expect(oauth.auth).toEqual({
      type: 'mcp_oauth',
      mcp_server_url: 'https://oauth.example.com/mcp',
      expires_at: expect.any(String),
      refresh: {
        client_id: 'client-1',
        token_endpoint: 'https://oauth.example.com/token',
        token_endpoint_auth: { type: 'client_secret_post' },
        resource: null,
        scope: null,
      },
    });
    // Stored all the same: the latest values are what the agent will use.
    expect(emulator.credentialSecrets(oauthId ?? '')).toEqual({
      access_token: `${canary}-access-2`,
      refresh_token: `${canary}-refresh-2`,
      client_secret: `${canary}-cs-2`,
    });
    expect(emulator.credentialSecrets(staticId ?? '')).toEqual({ token: `${canary}-token-2` });
  });

  test('a second active credential for the same MCP server URL is a 409 the SDK does not retry', async () => {
    const retrying = new Anthropic({ apiKey: emulator.apiKey, baseURL: emulator.url }); // default maxRetries: 2
    const vault = await newVault();
    const auth = { type: 'static_bearer' as const, mcp_server_url: MCP_URL, token: 't1' };
    await retrying.beta.vaults.credentials.create(vault.id, { auth });
    const before = emulator.requests.length;

    const error = await retrying.beta.vaults.credentials
      .create(vault.id, { auth: { type: 'mcp_oauth', mcp_server_url: MCP_URL, access_token: 't2' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.ConflictError);
    const conflict = error as InstanceType<typeof Anthropic.ConflictError>;
    expect(conflict.type).toBe('invalid_request_error');
    expect(conflict.headers?.get('x-should-retry')).toBe('false');
    const attempts = emulator.requests
      .slice(before)
      .filter((r) => r.path === `/v1/vaults/${vault.id}/credentials`);
    expect(attempts).toHaveLength(1);
  });

  test('archiving a credential purges its secret and frees its URL for a new credential', async () => {
    const vault = await newVault();
    const first = await client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'static_bearer', mcp_server_url: MCP_URL, token: 'old-token' },
    });
    const archived = await client.beta.vaults.credentials.archive(first.id, { vault_id: vault.id });
    expect(archived.archived_at).toEqual(expect.any(String));
    expect(emulator.credentialSecrets(first.id)).toEqual({});

    const second = await client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'static_bearer', mcp_server_url: MCP_URL, token: 'new-token' },
    });
    expect(second.id).not.toBe(first.id);
    const active = await client.beta.vaults.credentials.list(vault.id);
    expect(active.data.map((c) => c.id)).toEqual([second.id]);
    const all = await client.beta.vaults.credentials.list(vault.id, { include_archived: true });
    expect(all.data.map((c) => c.id).sort()).toEqual([first.id, second.id].sort());
  });

  test('a credential retrieved under a vault it does not belong to is 404', async () => {
    const mine = await newVault();
    const theirs = await newVault();
    const credential = await client.beta.vaults.credentials.create(mine.id, {
      auth: { type: 'static_bearer', mcp_server_url: MCP_URL, token: 'x' },
    });
    await expect(
      client.beta.vaults.credentials.retrieve(credential.id, { vault_id: theirs.id }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  test('immutable fields, a different auth type and a past expires_at are 400 on update; metadata patches', async () => {
    const vault = await newVault();
    const credential = await client.beta.vaults.credentials.create(vault.id, {
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: MCP_URL,
        access_token: 'a',
        refresh: {
          refresh_token: 'r',
          client_id: 'c',
          token_endpoint: 'https://t.example.com/token',
          token_endpoint_auth: { type: 'none' },
        },
      },
      metadata: { keep: '1', drop: '2' },
    });
    const rejects = async (body: Record<string, unknown>) => {
      const response = await fetch(`${emulator.url}/v1/vaults/${vault.id}/credentials/${credential.id}`, {
        method: 'POST',
        headers: { ...BETA, 'x-api-key': emulator.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
    };
    await rejects({ auth: { type: 'mcp_oauth', mcp_server_url: 'https://other.example.com/mcp' } });
    await rejects({ auth: { type: 'mcp_oauth', refresh: { client_id: 'other' } } });
    await rejects({ auth: { type: 'mcp_oauth', refresh: { token_endpoint: 'https://x.example.com' } } });
    await rejects({ auth: { type: 'static_bearer', token: 'x' } });
    await rejects({ auth: { type: 'mcp_oauth', expires_at: new Date(Date.now() - 1000).toISOString() } });

    const updated = await client.beta.vaults.credentials.update(credential.id, {
      vault_id: vault.id,
      display_name: 'Renamed',
      metadata: { drop: null, add: '3' },
      auth: { type: 'mcp_oauth', refresh: { scope: 'read write' } },
    });
    expect(updated.display_name).toBe('Renamed');
    expect(updated.metadata).toEqual({ keep: '1', add: '3' });
    expect(updated.auth.type === 'mcp_oauth' && updated.auth.refresh?.scope).toBe('read write');
  });

  test('an mcp_oauth credential whose expires_at is in the past is rejected at create (400)', async () => {
    const vault = await newVault();
    await expect(
      client.beta.vaults.credentials.create(vault.id, {
        auth: {
          type: 'mcp_oauth',
          mcp_server_url: MCP_URL,
          access_token: 'a',
          expires_at: new Date(Date.now() - 60_000).toISOString(),
        },
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  test('environment_variable credentials are unique per secret_name and resolve injection_location', async () => {
    const vault = await newVault();
    const created = await client.beta.vaults.credentials.create(vault.id, {
      auth: {
        type: 'environment_variable',
        secret_name: 'TOKEN',
        secret_value: 's',
        networking: { type: 'unrestricted' },
      },
    });
    expect(created.auth).toEqual({
      type: 'environment_variable',
      secret_name: 'TOKEN',
      networking: { type: 'unrestricted' },
      injection_location: { header: true, body: false },
    });
    await expect(
      client.beta.vaults.credentials.create(vault.id, {
        auth: {
          type: 'environment_variable',
          secret_name: 'TOKEN',
          secret_value: 's2',
          networking: { type: 'unrestricted' },
        },
      }),
    ).rejects.toBeInstanceOf(Anthropic.ConflictError);
    await expect(
      client.beta.vaults.credentials.update(created.id, {
        vault_id: vault.id,
        auth: { type: 'environment_variable', injection_location: { header: false } },
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  test('a vault holds at most 20 active credentials', async () => {
    const vault = await newVault();
    for (let i = 0; i < 20; i++) {
      await client.beta.vaults.credentials.create(vault.id, {
        auth: { type: 'static_bearer', mcp_server_url: `https://s${i}.example.com/mcp`, token: 't' },
      });
    }
    await expect(
      client.beta.vaults.credentials.create(vault.id, {
        auth: { type: 'static_bearer', mcp_server_url: 'https://s20.example.com/mcp', token: 't' },
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  test('mcp_oauth_validate is valid for a live token and reports what a test forces', async () => {
    const vault = await newVault();
    const credential = await client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'mcp_oauth', mcp_server_url: MCP_URL, access_token: 'a', expires_at: future() },
    });
    const valid = await client.beta.vaults.credentials.mcpOAuthValidate(credential.id, {
      vault_id: vault.id,
    });
    expect(valid).toMatchObject({
      type: 'vault_credential_validation',
      credential_id: credential.id,
      vault_id: vault.id,
      status: 'valid',
      has_refresh_token: false,
      mcp_probe: null,
    });
    emulator.setCredentialValidation(credential.id, 'invalid');
    const invalid = await client.beta.vaults.credentials.mcpOAuthValidate(credential.id, {
      vault_id: vault.id,
    });
    expect(invalid.status).toBe('invalid');
    expect(invalid.refresh).toEqual({ status: 'no_refresh_token', http_response: null });
  });

  test('deleting a credential removes it', async () => {
    const vault = await newVault();
    const credential = await client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'static_bearer', mcp_server_url: MCP_URL, token: 't' },
    });
    expect(await client.beta.vaults.credentials.delete(credential.id, { vault_id: vault.id })).toEqual({
      id: credential.id,
      type: 'vault_credential_deleted',
    });
    expect(emulator.credentials(vault.id)).toEqual([]);
  });
});

describe('agents', () => {
  test('an agent starts at version 1 and every effective update publishes the next version', async () => {
    const agent = await newAgent();
    expect(agent).toMatchObject({
      type: 'agent',
      version: 1,
      archived_at: null,
      execution_identity: { type: 'service_account' },
    });
    expect(agent.id).toMatch(/^agent_/);

    const v2 = await client.beta.agents.update(agent.id, {
      version: 1,
      system: 'Be brief.',
      metadata: { team: 'T1' },
    });
    expect(v2.version).toBe(2);
    const same = await client.beta.agents.update(agent.id, { system: 'Be brief.' });
    expect(same.version).toBe(2);
    const v3 = await client.beta.agents.update(agent.id, { mcp_servers: [], tools: [] });
    expect(v3).toMatchObject({ version: 3, mcp_servers: [], tools: [], metadata: { team: 'T1' } });

    expect((await client.beta.agents.retrieve(agent.id, { version: 1 })).system).toBeNull();
    expect((await client.beta.agents.retrieve(agent.id)).version).toBe(3);
    const versions: number[] = [];
    for await (const v of client.beta.agents.versions.list(agent.id, { limit: 2 })) versions.push(v.version);
    expect(versions).toEqual([3, 2, 1]);
  });

  test('an update carrying a stale version is a 409 ConflictError', async () => {
    const agent = await newAgent();
    await client.beta.agents.update(agent.id, { version: 1, name: 'renamed' });
    await expect(client.beta.agents.update(agent.id, { version: 1, name: 'again' })).rejects.toBeInstanceOf(
      Anthropic.ConflictError,
    );
  });

  test('responses resolve every toolset to a concrete default_config and filled-in configs', async () => {
    const agent = await client.beta.agents.create({
      name: unique('resolved'),
      model: { id: 'claude-opus-4-7', effort: 'high' },
      mcp_servers: [{ type: 'url', name: 'notion', url: MCP_URL }],
      tools: [
        { type: 'mcp_toolset', mcp_server_name: 'notion', configs: [{ name: 'notion-search' }] },
        { type: 'agent_toolset_20260401', configs: [{ name: 'bash', enabled: false }] },
      ],
    });
    expect(agent.model).toEqual({ id: 'claude-opus-4-7', effort: { type: 'high' } });
    expect(agent.tools).toEqual([
      {
        type: 'mcp_toolset',
        mcp_server_name: 'notion',
        default_config: { enabled: true, permission_policy: { type: 'always_ask' } },
        configs: [{ name: 'notion-search', enabled: true, permission_policy: { type: 'always_ask' } }],
      },
      {
        type: 'agent_toolset_20260401',
        default_config: { enabled: true, permission_policy: { type: 'always_allow' } },
        configs: [
          { name: 'bash', type: 'bash', enabled: false, permission_policy: { type: 'always_allow' } },
        ],
      },
    ]);
  });

  test('MCP servers and mcp_toolsets must reference each other exactly once (400 otherwise)', async () => {
    const server = { type: 'url' as const, name: 'notion', url: MCP_URL };
    const toolset = { type: 'mcp_toolset' as const, mcp_server_name: 'notion' };
    const invalid = [
      { mcp_servers: [server] },
      { tools: [toolset] },
      { mcp_servers: [server, server], tools: [toolset] },
      { mcp_servers: [server], tools: [toolset, toolset] },
      {
        mcp_servers: Array.from({ length: 21 }, (_, i) => ({ ...server, name: `s${i}` })),
        tools: Array.from({ length: 21 }, (_, i) => ({ ...toolset, mcp_server_name: `s${i}` })),
      },
    ];
    for (const shape of invalid) {
      await expect(
        client.beta.agents.create({ name: unique('bad'), model: 'claude-sonnet-4-6', ...shape }),
      ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    }
  });

  test('an agent names at most 128 tools across its toolsets (the stricter documented limit)', async () => {
    const withTools = (count: number) =>
      client.beta.agents.create({
        name: unique('many-tools'),
        model: 'claude-sonnet-4-6',
        mcp_servers: [{ type: 'url', name: 'notion', url: MCP_URL }],
        tools: [
          {
            type: 'mcp_toolset',
            mcp_server_name: 'notion',
            default_config: { enabled: false },
            configs: Array.from({ length: count }, (_, i) => ({ name: `tool-${i}`, enabled: true })),
          },
        ],
      });
    await expect(withTools(128)).resolves.toMatchObject({ version: 1 });
    const refused = await withTools(129).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((refused as Error).message)).toContain('at most 128 tools');
  });

  test('archived agents stay listed only with include_archived and cannot start sessions', async () => {
    const agent = await newAgent();
    const archived = await client.beta.agents.archive(agent.id);
    expect(archived.archived_at).toEqual(expect.any(String));
    const listed: string[] = [];
    for await (const a of client.beta.agents.list({ limit: 100 })) listed.push(a.id);
    expect(listed).not.toContain(agent.id);
    await expect(
      client.beta.sessions.create({ agent: agent.id, environment_id: environmentId }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});

describe('environments', () => {
  test('create, retrieve, update, list, archive and delete; names are unique (409)', async () => {
    const name = unique('env');
    const env = await client.beta.environments.create({
      name,
      config: { type: 'cloud', networking: { type: 'limited', allow_mcp_servers: true } },
    });
    expect(env).toMatchObject({ type: 'environment', name, archived_at: null });
    expect(env.config).toMatchObject({
      type: 'cloud',
      networking: {
        type: 'limited',
        allow_mcp_servers: true,
        allow_package_managers: false,
        allowed_hosts: [],
      },
    });
    await expect(client.beta.environments.create({ name })).rejects.toBeInstanceOf(Anthropic.ConflictError);
    expect(await client.beta.environments.retrieve(env.id)).toEqual(env);
    const updated = await client.beta.environments.update(env.id, {
      description: 'shared',
      metadata: { a: '1' },
    });
    expect(updated).toMatchObject({ description: 'shared', metadata: { a: '1' } });
    await expect(
      client.beta.environments.update(env.id, { config: { type: 'self_hosted' } }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    await client.beta.environments.archive(env.id);
    const agent = await newAgent();
    await expect(
      client.beta.sessions.create({ agent: agent.id, environment_id: env.id }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    const listed: string[] = [];
    for await (const e of client.beta.environments.list()) listed.push(e.id);
    expect(listed).not.toContain(env.id);
    expect(await client.beta.environments.delete(env.id)).toEqual({
      id: env.id,
      type: 'environment_deleted',
    });
    await expect(client.beta.environments.retrieve(env.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('sessions', () => {
  test('a session binds its vault_ids and snapshots the agent given by id, {id, version} or with overrides', async () => {
    const vault = await newVault();
    const agent = await newAgent();
    await client.beta.agents.update(agent.id, { system: 'v2' });

    const byId = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: environmentId,
      vault_ids: [vault.id],
    });
    expect(byId).toMatchObject({
      type: 'session',
      status: 'idle',
      vault_ids: [vault.id],
      environment_id: environmentId,
    });
    expect(byId.id).toMatch(/^sesn_/);
    expect(byId.agent).toMatchObject({ id: agent.id, type: 'agent', version: 2, system: 'v2' });

    const pinned = await client.beta.sessions.create({
      agent: { type: 'agent', id: agent.id, version: 1 },
      environment_id: environmentId,
      metadata: { slack_user_id: 'U1' },
      title: 'pinned',
    });
    expect(pinned.agent).toMatchObject({ version: 1, system: null });
    expect(pinned).toMatchObject({ vault_ids: [], metadata: { slack_user_id: 'U1' }, title: 'pinned' });

    const narrowed = await client.beta.sessions.create({
      agent: {
        type: 'agent_with_overrides',
        id: agent.id,
        version: 2,
        tools: [
          {
            type: 'mcp_toolset',
            mcp_server_name: 'notion',
            default_config: { enabled: false },
            configs: [{ name: 'notion-search', enabled: true, permission_policy: { type: 'always_ask' } }],
          },
        ],
      },
      environment_id: environmentId,
      vault_ids: [vault.id],
    });
    expect(narrowed.agent.version).toBe(2);
    expect(narrowed.agent.tools[0]).toMatchObject({
      configs: [{ name: 'notion-search', enabled: true, permission_policy: { type: 'always_ask' } }],
    });
    // The agent itself is unchanged: overrides are session-local.
    expect((await client.beta.agents.retrieve(agent.id)).tools).toEqual(byId.agent.tools);

    // Later agent versions do not reach an existing session.
    await client.beta.agents.update(agent.id, { system: 'v3' });
    expect((await client.beta.sessions.retrieve(byId.id)).agent.system).toBe('v2');
  });

  test('unknown or archived vaults, unknown agents and unknown environments are refused at create', async () => {
    const agent = await newAgent();
    const archived = await newVault();
    await client.beta.vaults.archive(archived.id);
    await expect(
      client.beta.sessions.create({
        agent: agent.id,
        environment_id: environmentId,
        vault_ids: ['vlt_missing'],
      }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(
      client.beta.sessions.create({
        agent: agent.id,
        environment_id: environmentId,
        vault_ids: [archived.id],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(
      client.beta.sessions.create({ agent: 'agent_missing', environment_id: environmentId }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(
      client.beta.sessions.create({ agent: agent.id, environment_id: 'env_missing' }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    expect(emulator.sessions().some((s) => s.agent.id === agent.id)).toBe(false);
  });

  test('update rejects vault_ids ("Not yet supported") and patches title and metadata', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: environmentId,
      metadata: { a: '1' },
    });
    const error = await client.beta.sessions
      .update(session.id, { vault_ids: ['vlt_x'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((error as Error).message)).toContain('Not yet supported');
    const updated = await client.beta.sessions.update(session.id, {
      title: 'Renamed',
      metadata: { a: null, b: '2' },
    });
    expect(updated).toMatchObject({ title: 'Renamed', metadata: { b: '2' } });
    const updates = await client.beta.sessions.events.list(session.id, { types: ['session.updated'] });
    expect(updates.data).toHaveLength(1);
  });

  test('a budget is replaced only above what was spent, and never added to a session without one', async () => {
    const agent = await newAgent();
    const limit = (amount: string) => ({
      type: 'limit' as const,
      max_list_cost: { amount, currency: 'USD' as const },
    });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (e: unknown) => (e instanceof Anthropic.BadRequestError ? e.errorCode : String(e)),
      );
    const capped = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: environmentId,
      budget: limit('100'),
    });
    // Nothing spent yet: a ceiling of zero is not above it.
    expect(await codeOf(client.beta.sessions.update(capped.id, { budget: limit('0') }))).toBe(
      'budget_not_raised',
    );
    const raised = await client.beta.sessions.update(capped.id, { budget: limit('250') });
    expect(raised.budget?.max_list_cost.amount).toBe('250');
    await client.beta.sessions.update(capped.id, { budget: null });
    expect(await codeOf(client.beta.sessions.update(capped.id, { budget: limit('300') }))).toBe(
      'budget_create_only',
    );
    const uncapped = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    expect(await codeOf(client.beta.sessions.update(uncapped.id, { budget: limit('300') }))).toBe(
      'budget_create_only',
    );
  });

  test('memory stores mount in sessions: each once, never archived, read-write unless asked; sessions list by store', async () => {
    const agent = await newAgent();
    const store = await client.beta.memoryStores.create({ name: 'Notes of U_1', metadata: { owner: 'U_1' } });
    expect(store).toMatchObject({ type: 'memory_store', description: '', archived_at: null });
    const mount = (resources: Array<Record<string, unknown>>) =>
      client.beta.sessions.create({
        agent: agent.id,
        environment_id: environmentId,
        resources: resources as never,
      });
    const session = await mount([{ type: 'memory_store', memory_store_id: store.id }]);
    expect(session.resources).toEqual([
      expect.objectContaining({
        type: 'memory_store',
        memory_store_id: store.id,
        access: 'read_write',
        mount_path: '/mnt/memory/notes-of-u-1',
      }),
    ]);
    const reading = await mount([{ type: 'memory_store', memory_store_id: store.id, access: 'read_only' }]);
    expect(reading.resources[0]).toMatchObject({ access: 'read_only' });
    await expect(
      mount([
        { type: 'memory_store', memory_store_id: store.id },
        { type: 'memory_store', memory_store_id: store.id },
      ]),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    const listed = await client.beta.sessions.list({ memory_store_id: store.id });
    expect(listed.data.map((s) => s.id).sort()).toEqual([session.id, reading.id].sort());

    await client.beta.memoryStores.archive(store.id);
    await expect(mount([{ type: 'memory_store', memory_store_id: store.id }])).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
    await expect(mount([{ type: 'memory_store', memory_store_id: 'memstore_nope' }])).rejects.toBeInstanceOf(
      Anthropic.NotFoundError,
    );
    const stores = await client.beta.memoryStores.list();
    expect(stores.data.map((s) => s.id)).not.toContain(store.id);
  });

  test('lists sessions newest first, filtered by agent_id and statuses[], with prev_page cursors', async () => {
    const agent = await newAgent();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId })).id);
    }
    const first = await client.beta.sessions.list({ agent_id: agent.id, statuses: ['idle'], limit: 2 });
    expect(first.data.map((s) => s.id)).toEqual([ids[2], ids[1]]);
    expect(first.prev_page).toBeNull();
    const second = await client.beta.sessions.list({
      agent_id: agent.id,
      limit: 2,
      page: first.next_page ?? '',
    });
    expect(second.data.map((s) => s.id)).toEqual([ids[0]]);
    expect(second.prev_page).toEqual(expect.any(String));
    const back = await client.beta.sessions.list({
      agent_id: agent.id,
      limit: 2,
      page: second.prev_page ?? '',
    });
    expect(back.data.map((s) => s.id)).toEqual([ids[2], ids[1]]);
    const asc = await client.beta.sessions.list({ agent_id: agent.id, order: 'asc' });
    expect(asc.data.map((s) => s.id)).toEqual(ids);
    expect((await client.beta.sessions.list({ agent_id: agent.id, statuses: ['running'] })).data).toEqual([]);
  });

  test('initial_events are played in order, each as its own turn, and events.list orders all of it by processed_at', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: environmentId,
      initial_events: [
        { type: 'user.message', content: [{ type: 'text', text: 'first' }] },
        { type: 'user.message', content: [{ type: 'text', text: 'second' }] },
      ],
    });
    await emulator.settled(session.id);
    const events = (await client.beta.sessions.events.list(session.id)).data;
    expect(events.map((e) => e.type)).toEqual([
      'user.message',
      'session.status_running',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
      // The second message waited in the queue; it was processed when its turn began.
      'user.message',
      'session.status_running',
      // A usage snapshot comes before a request, once there is a cost: never the last request's.
      'session.usage',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    const replies = events.flatMap((e) => (e.type === 'agent.message' ? e.content : []));
    expect(replies).toEqual([
      { type: 'text', text: 'You said: first' },
      { type: 'text', text: 'You said: second' },
    ]);
    for (const event of events) {
      expect(event.id).toMatch(/^sevt_/);
      expect(event.processed_at).toEqual(expect.any(String));
    }
    expect((await client.beta.sessions.retrieve(session.id)).status).toBe('idle');
  });

  test('the SSE stream yields the turn in order through the SDK, after echoing the sent message', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    const stream = await client.beta.sessions.events.stream(session.id);
    const sent = await client.beta.sessions.events.send(session.id, {
      events: [{ type: 'user.message', content: [{ type: 'text', text: 'hello there' }] }],
    });
    expect(sent.data).toEqual([
      {
        id: expect.stringMatching(/^sevt_/),
        type: 'user.message',
        content: [{ type: 'text', text: 'hello there' }],
        processed_at: null,
      },
    ]);

    const streamed = await readUntil(stream, turnEnded);
    expect(streamed.map((e) => e.type)).toEqual([
      'user.message',
      'user.message',
      'session.status_running',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    // The echo comes twice with the same id: queued, then processed as its turn begins.
    expect(streamed[0]).toMatchObject({ id: sent.data?.[0]?.id, processed_at: null });
    expect(streamed[1]).toMatchObject({ id: sent.data?.[0]?.id, processed_at: expect.any(String) });
    const idle = streamed[streamed.length - 1];
    expect(idle).toMatchObject({ stop_reason: { type: 'end_turn' }, stop_details: null });
    const end = streamed.find((e) => e.type === 'span.model_request_end');
    const start = streamed.find((e) => e.type === 'span.model_request_start');
    expect(end).toMatchObject({ model_request_start_id: start?.id, is_error: false });

    // History holds each event once, in the same order as the stream.
    const listed = (await client.beta.sessions.events.list(session.id)).data;
    const streamedIds = streamed.map((e) => ('id' in e ? e.id : ''));
    expect(listed.map((e) => e.id)).toEqual([...new Set(streamedIds)]);
    expect((await client.beta.sessions.retrieve(session.id)).status).toBe('idle');
  });

  test('the stream only carries what happens after it is opened (no replay)', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: environmentId,
      initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'before' }] }],
    });
    await emulator.settled(session.id);
    const stream = await client.beta.sessions.events.stream(session.id);
    await client.beta.sessions.events.send(session.id, {
      events: [{ type: 'user.message', content: [{ type: 'text', text: 'after' }] }],
    });
    const streamed = await readUntil(stream, turnEnded);
    const texts = streamed.flatMap((e) => (e.type === 'agent.message' ? e.content : []));
    expect(texts).toEqual([{ type: 'text', text: 'You said: after' }]);
  });

  test('events.list filters by types[] and pages with limit; order=desc reverses it', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({
      agent: agent.id,
      environment_id: environmentId,
      initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'one' }] }],
    });
    await emulator.settled(session.id);
    const messages = await client.beta.sessions.events.list(session.id, {
      types: ['agent.message', 'user.message'],
    });
    expect(messages.data.map((e) => e.type)).toEqual(['user.message', 'agent.message']);
    const ids: string[] = [];
    for await (const e of client.beta.sessions.events.list(session.id, { limit: 2 })) ids.push(e.id);
    // user.message, status_running, span start, agent.message, span end, status_idle.
    expect(ids).toHaveLength(6);
    const desc = await client.beta.sessions.events.list(session.id, { order: 'desc' });
    expect(desc.data.map((e) => e.id)).toEqual([...ids].reverse());
  });

  test('user.tool_confirmation for an id that is not awaiting confirmation is 400, and nothing is recorded', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    await expect(
      client.beta.sessions.events.send(session.id, {
        events: [
          { type: 'user.message', content: [{ type: 'text', text: 'hi' }] },
          { type: 'user.tool_confirmation', tool_use_id: 'sevt_unknown', result: 'allow' },
        ],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    expect(emulator.events(session.id)).toEqual([]);
  });

  test('deleting a session ends its stream with session.deleted and the session is gone', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    const stream = await client.beta.sessions.events.stream(session.id);
    const reading = (async () => {
      const seen: string[] = [];
      for await (const event of stream) seen.push(event.type);
      return seen;
    })();
    expect(await client.beta.sessions.delete(session.id)).toEqual({
      id: session.id,
      type: 'session_deleted',
    });
    expect(await reading).toEqual(['session.deleted']);
    await expect(client.beta.sessions.retrieve(session.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  test('a terminated session ends its stream with session.status_terminated and refuses new events', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    const stream = await client.beta.sessions.events.stream(session.id);
    const reading = (async () => {
      const seen: string[] = [];
      for await (const event of stream) seen.push(event.type);
      return seen;
    })();
    emulator.terminateSession(session.id);
    expect(await reading).toEqual(['session.status_terminated']);
    expect((await client.beta.sessions.retrieve(session.id)).status).toBe('terminated');
    await expect(
      client.beta.sessions.events.send(session.id, {
        events: [{ type: 'user.message', content: [{ type: 'text', text: 'x' }] }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  test('archiving a session makes it read-only', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    const archived = await client.beta.sessions.archive(session.id);
    expect(archived.archived_at).toEqual(expect.any(String));
    await expect(client.beta.sessions.update(session.id, { title: 'x' })).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
  });

  test('event_deltas previews an agent.message with event_start and event_delta before the message', async () => {
    const agent = await newAgent();
    const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environmentId });
    const stream = await client.beta.sessions.events.stream(session.id, { event_deltas: ['agent.message'] });
    await client.beta.sessions.events.send(session.id, {
      events: [{ type: 'user.message', content: [{ type: 'text', text: 'preview me' }] }],
    });
    const seen: { type: string }[] = [];
    for await (const event of stream as AsyncIterable<{ type: string }>) {
      seen.push(event);
      if (event.type === 'agent.message') break;
    }
    const types = seen.map((e) => e.type);
    expect(types.slice(-3)).toEqual(['event_start', 'event_delta', 'agent.message']);
  });
});

describe('fault injection', () => {
  test('an injected fault fails the next matching request only, with the API error envelope', async () => {
    emulator.injectFault({ method: 'POST', path: '/v1/vaults', status: 529 });
    await expect(newVault()).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    await expect(newVault()).resolves.toMatchObject({ type: 'vault' });
  });

  test('a fault after handling loses only the response: the session exists although create failed', async () => {
    const agent = await newAgent();
    emulator.injectFault({ method: 'POST', path: '/v1/sessions', status: 500, afterHandling: true });
    const tag = unique('intent');
    await expect(
      client.beta.sessions.create({
        agent: agent.id,
        environment_id: environmentId,
        metadata: { intent: tag },
      }),
    ).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    const found = await client.beta.sessions.list({ agent_id: agent.id });
    expect(found.data.map((s) => s.metadata.intent)).toEqual([tag]);
  });

  test('a 429 carries its retry-after header to the SDK', async () => {
    emulator.injectFault({ path: /^\/v1\/agents$/, status: 429, headers: { 'retry-after': '7' } });
    const error = await client.beta.agents.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBe('7');
  });
});

describe('webhooks', () => {
  test('signWebhook produces Standard Webhooks headers that the SDK unwrap() accepts', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const event = emulator.webhookEvent('session.status_idled', 'sesn_123');
    const signed = emulator.signWebhook(event, secret, { timestampSeconds: Math.floor(Date.now() / 1000) });
    const verifier = new Anthropic({ apiKey: 'unused', webhookKey: secret });
    const unwrapped = verifier.beta.webhooks.unwrap(signed.body, { headers: signed.headers });
    expect(unwrapped).toMatchObject({
      type: 'event',
      data: { type: 'session.status_idled', id: 'sesn_123' },
    });
    expect(() => verifier.beta.webhooks.unwrap(`${signed.body} `, { headers: signed.headers })).toThrow();
  });
});
