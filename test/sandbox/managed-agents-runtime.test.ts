import { createServer, type IncomingMessage } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import type { BetaManagedAgentsStreamSessionEvents } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { type AgentScript, ManagedAgentsEmulator } from '../../sandbox/managed-agents/index.js';
import { ManualClock } from '../../src/clock.js';
import { type ListeningServer, listen, readBody } from '../../src/http.js';

/**
 * The scripted agent runtime of the Managed Agents emulator against a real MCP server (the MCP
 * SDK's McpServer over Streamable HTTP) that requires a bearer token and records which token
 * made each call: vault binding, permission policies, approvals and authentication failures.
 */

type Event = BetaManagedAgentsStreamSessionEvents;

interface ToolCall {
  token: string;
  tool: string;
  args: Record<string, unknown>;
}

const REFRESH_TOKEN = 'the-refresh-token';

/** A tiny Notion-like MCP server plus an OAuth token endpoint for refresh grants. */
class TestMcpServer {
  readonly calls: ToolCall[] = [];
  /** Bearer tokens (null: none) of requests refused with 401. */
  readonly rejected: (string | null)[] = [];
  readonly refreshGrants: URLSearchParams[] = [];
  readonly validTokens = new Set<string>();

  private constructor(private readonly loopback: ListeningServer) {}

  static async start(): Promise<TestMcpServer> {
    let self: TestMcpServer | undefined;
    const server = createServer((req, res) => {
      void self?.handle(req, res).catch(() => res.writeHead(500).end());
    });
    self = new TestMcpServer(await listen(server));
    return self;
  }

  get url(): string {
    return `${this.loopback.url}/mcp`;
  }

  get tokenEndpoint(): string {
    return `${this.loopback.url}/token`;
  }

  close(): Promise<void> {
    return this.loopback.close();
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const body = (await readBody(req)).toString('utf8');
    if (req.url === '/token') {
      const form = new URLSearchParams(body);
      this.refreshGrants.push(form);
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH_TOKEN) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
        return;
      }
      this.validTokens.add('refreshed-token');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: 'refreshed-token', token_type: 'Bearer', expires_in: 3600 }));
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
    if (!token || !this.validTokens.has(token)) {
      this.rejected.push(token);
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    const mcp = this.mcpServerFor(token);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  }

  private mcpServerFor(token: string): McpServer {
    const mcp = new McpServer({ name: 'notion-test', version: '1.0.0' });
    mcp.registerTool(
      'notion-search',
      {
        description: 'Search pages',
        inputSchema: { query: z.string() },
        annotations: { readOnlyHint: true },
      },
      async ({ query }) => {
        this.calls.push({ token, tool: 'notion-search', args: { query } });
        return { content: [{ type: 'text', text: `2 pages match "${query}"` }] };
      },
    );
    mcp.registerTool(
      'notion-create-pages',
      {
        description: 'Create a page',
        inputSchema: { title: z.string() },
        annotations: { readOnlyHint: false },
      },
      async ({ title }) => {
        this.calls.push({ token, tool: 'notion-create-pages', args: { title } });
        return { content: [{ type: 'text', text: `Created page "${title}"` }] };
      },
    );
    return mcp;
  }
}

let mcp: TestMcpServer;
let emulator: ManagedAgentsEmulator;
let client: Anthropic;
let environmentId: string;
let agentId: string;
let aliceVault: string;
let bobVault: string;
let emptyVault: string;

const notionToolset = (overrides: { search?: object; create?: object } = {}) => ({
  type: 'mcp_toolset' as const,
  mcp_server_name: 'notion',
  default_config: { enabled: false },
  configs: [
    {
      name: 'notion-search',
      enabled: true,
      permission_policy: { type: 'always_allow' as const },
      ...overrides.search,
    },
    {
      name: 'notion-create-pages',
      enabled: true,
      permission_policy: { type: 'always_ask' as const },
      ...overrides.create,
    },
  ],
});

async function vaultWith(client: Anthropic, token: string | null, url: string): Promise<string> {
  const vault = await client.beta.vaults.create({ display_name: `vault for ${token ?? 'nobody'}` });
  if (token) {
    await client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'mcp_oauth', mcp_server_url: url, access_token: token },
    });
  }
  return vault.id;
}

beforeAll(async () => {
  mcp = await TestMcpServer.start();
  mcp.validTokens.add('alice-token');
  mcp.validTokens.add('bob-token');
  emulator = await ManagedAgentsEmulator.start();
  client = new Anthropic({ apiKey: emulator.apiKey, baseURL: emulator.url, maxRetries: 0 });
  environmentId = (await client.beta.environments.create({ name: 'runtime' })).id;
  agentId = (
    await client.beta.agents.create({
      name: 'notion helper',
      model: 'claude-sonnet-4-6',
      mcp_servers: [{ type: 'url', name: 'notion', url: mcp.url }],
      tools: [notionToolset()],
    })
  ).id;
  aliceVault = await vaultWith(client, 'alice-token', mcp.url);
  bobVault = await vaultWith(client, 'bob-token', mcp.url);
  emptyVault = await vaultWith(client, null, mcp.url);
});

afterAll(async () => {
  await emulator.close();
  await mcp.close();
});

/** A session's live stream read step by step across several sends. */
async function watch(client: Anthropic, sessionId: string) {
  const stream = await client.beta.sessions.events.stream(sessionId);
  const iterator = stream[Symbol.asyncIterator]();
  return {
    async until(last: (event: Event) => boolean): Promise<Event[]> {
      const seen: Event[] = [];
      for (;;) {
        const next = await iterator.next();
        if (next.done) throw new Error(`stream ended after ${seen.map((e) => e.type).join(', ')}`);
        seen.push(next.value);
        if (last(next.value)) return seen;
      }
    },
    close: () => stream.controller.abort(),
  };
}

const idle = (event: Event): boolean => event.type === 'session.status_idle';
const turnEnded = (event: Event): boolean =>
  event.type === 'session.status_idle' && event.stop_reason.type !== 'requires_action';
const say = (text: string) => ({
  events: [{ type: 'user.message' as const, content: [{ type: 'text' as const, text }] }],
});
const ofType = <T extends Event['type']>(events: Event[], type: T) =>
  events.filter((e): e is Extract<Event, { type: T }> => e.type === type);
const agentText = (events: Event[]): string =>
  ofType(events, 'agent.message')
    .flatMap((e) => e.content)
    .map((b) => (b.type === 'text' ? b.text : ''))
    .join('\n');

async function session(
  vaultIds: string[],
  agent: Parameters<Anthropic['beta']['sessions']['create']>[0]['agent'] = agentId,
) {
  return (await client.beta.sessions.create({ agent, environment_id: environmentId, vault_ids: vaultIds }))
    .id;
}

describe('scripted agent runtime against an MCP server', () => {
  test('a search calls the read-only tool with the token from the session vault and summarises the result', async () => {
    const id = await session([aliceVault]);
    const stream = await watch(client, id);
    await client.beta.sessions.events.send(id, say('search roadmap'));
    const events = await stream.until(turnEnded);
    stream.close();

    expect(events.map((e) => e.type)).toEqual([
      'user.message',
      'user.message',
      'session.status_running',
      'span.model_request_start',
      'agent.mcp_tool_use',
      'span.model_request_end',
      'agent.mcp_tool_result',
      // The usage snapshot comes before a request: the last one's cost only the session's GET says.
      'session.usage',
      'span.model_request_start',
      'agent.message',
      'span.model_request_end',
      'session.status_idle',
    ]);
    const [use] = ofType(events, 'agent.mcp_tool_use');
    expect(use).toMatchObject({
      name: 'notion-search',
      mcp_server_name: 'notion',
      input: { query: 'roadmap' },
      evaluated_permission: 'allow',
      evaluation: { type: 'always_allow' },
    });
    expect(ofType(events, 'agent.mcp_tool_result')[0]).toMatchObject({
      mcp_tool_use_id: use?.id,
      is_error: false,
      content: [{ type: 'text', text: '2 pages match "roadmap"' }],
    });
    expect(agentText(events)).toContain('2 pages match "roadmap"');
    expect(mcp.calls.at(-1)).toEqual({
      token: 'alice-token',
      tool: 'notion-search',
      args: { query: 'roadmap' },
    });
  });

  test('the credential comes from the first vault in vault_ids holding one for the server URL', async () => {
    const id = await session([emptyVault, bobVault, aliceVault]);
    await client.beta.sessions.events.send(id, say('find budget'));
    await emulator.settled(id);
    expect(mcp.calls.at(-1)).toEqual({
      token: 'bob-token',
      tool: 'notion-search',
      args: { query: 'budget' },
    });
  });

  test('an always_ask tool pauses with requires_action until the user allows it, then runs', async () => {
    const id = await session([aliceVault]);
    const stream = await watch(client, id);
    const callsBefore = mcp.calls.length;
    await client.beta.sessions.events.send(id, say('create a page titled Q3 plan'));
    const paused = await stream.until(idle);

    const [use] = ofType(paused, 'agent.mcp_tool_use');
    expect(use).toMatchObject({
      name: 'notion-create-pages',
      input: { title: 'Q3 plan' },
      evaluated_permission: 'ask',
      evaluation: { type: 'always_ask' },
    });
    expect(paused.at(-1)).toMatchObject({ stop_reason: { type: 'requires_action', event_ids: [use?.id] } });
    await emulator.settled(id);
    expect((await client.beta.sessions.retrieve(id)).status).toBe('idle');
    expect(mcp.calls.length).toBe(callsBefore);

    await client.beta.sessions.events.send(id, {
      events: [{ type: 'user.tool_confirmation', tool_use_id: use?.id ?? '', result: 'allow' }],
    });
    const resumed = await stream.until(turnEnded);
    stream.close();
    expect(resumed.map((e) => e.type).slice(0, 4)).toEqual([
      'user.tool_confirmation',
      'user.tool_confirmation',
      'session.status_running',
      'agent.mcp_tool_result',
    ]);
    expect(ofType(resumed, 'agent.mcp_tool_result')[0]).toMatchObject({
      mcp_tool_use_id: use?.id,
      is_error: false,
    });
    expect(mcp.calls.at(-1)).toEqual({
      token: 'alice-token',
      tool: 'notion-create-pages',
      args: { title: 'Q3 plan' },
    });
    expect(agentText(resumed)).toContain('Created page "Q3 plan"');
  });

  test('a denied tool never runs and its result is an error carrying the deny message', async () => {
    const id = await session([aliceVault]);
    const stream = await watch(client, id);
    const callsBefore = mcp.calls.length;
    await client.beta.sessions.events.send(id, say('write Secret plans'));
    const [use] = ofType(await stream.until(idle), 'agent.mcp_tool_use');

    // deny_message is only allowed with a deny.
    await expect(
      client.beta.sessions.events.send(id, {
        events: [
          { type: 'user.tool_confirmation', tool_use_id: use?.id ?? '', result: 'allow', deny_message: 'no' },
        ],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);

    await client.beta.sessions.events.send(id, {
      events: [
        {
          type: 'user.tool_confirmation',
          tool_use_id: use?.id ?? '',
          result: 'deny',
          deny_message: 'Declined in Slack',
        },
      ],
    });
    const rest = await stream.until(turnEnded);
    stream.close();
    expect(ofType(rest, 'agent.mcp_tool_result')[0]).toMatchObject({
      mcp_tool_use_id: use?.id,
      is_error: true,
      content: [{ type: 'text', text: 'Declined in Slack' }],
    });
    expect(mcp.calls.length).toBe(callsBefore);
    // A decided tool use cannot be confirmed again.
    await expect(
      client.beta.sessions.events.send(id, {
        events: [{ type: 'user.tool_confirmation', tool_use_id: use?.id ?? '', result: 'allow' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  test('a session whose vaults hold no credential for the server gets mcp_authentication_failed_error', async () => {
    const id = await session([emptyVault]);
    const callsBefore = mcp.calls.length;
    const rejectedBefore = mcp.rejected.length;
    await client.beta.sessions.events.send(id, say('search roadmap'));
    await emulator.settled(id);
    const events = (await client.beta.sessions.events.list(id)).data;

    expect(ofType(events, 'session.error')).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({
          type: 'mcp_authentication_failed_error',
          mcp_server_name: 'notion',
          retry_status: { type: 'exhausted' },
        }),
      }),
    ]);
    expect(mcp.calls.length).toBe(callsBefore);
    // The platform still tried, unauthenticated, and the server refused.
    expect(mcp.rejected.slice(rejectedBefore)).toContain(null);
    expect(agentText(events)).toContain('No search tool is available');
    expect(events.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  });

  test('a token the MCP server rejects surfaces as mcp_authentication_failed_error', async () => {
    const revoked = await vaultWith(client, 'revoked-token', mcp.url);
    const id = await session([revoked]);
    await client.beta.sessions.events.send(id, say('search anything'));
    await emulator.settled(id);
    const errors = ofType((await client.beta.sessions.events.list(id)).data, 'session.error');
    expect(errors.map((e) => e.error.type)).toEqual(['mcp_authentication_failed_error']);
    expect(mcp.rejected).toContain('revoked-token');
  });

  test('a tool disabled for the agent does not exist: the agent says so and calls nothing', async () => {
    const id = await session([aliceVault], {
      type: 'agent_with_overrides',
      id: agentId,
      tools: [notionToolset({ search: { enabled: false } })],
    });
    const callsBefore = mcp.calls.length;
    await client.beta.sessions.events.send(id, say('search roadmap'));
    await emulator.settled(id);
    const events = (await client.beta.sessions.events.list(id)).data;
    expect(ofType(events, 'agent.mcp_tool_use')).toEqual([]);
    expect(agentText(events)).toContain('No search tool is available');
    expect(mcp.calls.length).toBe(callsBefore);
  });

  test('the auto policy lets a read-only tool run and records the evaluation', async () => {
    const id = await session([aliceVault], {
      type: 'agent_with_overrides',
      id: agentId,
      tools: [notionToolset({ search: { permission_policy: { type: 'auto' } } })],
    });
    await client.beta.sessions.events.send(id, say('search auto'));
    await emulator.settled(id);
    const [use] = ofType((await client.beta.sessions.events.list(id)).data, 'agent.mcp_tool_use');
    expect(use).toMatchObject({
      evaluated_permission: 'allow',
      evaluation: { type: 'auto', evaluated_permission: { type: 'allow' } },
    });
  });

  test('a token rotated in the vault reaches a live session at its next call', async () => {
    const vault = await client.beta.vaults.create({ display_name: 'rotating' });
    const credential = await client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'static_bearer', mcp_server_url: mcp.url, token: 'alice-token' },
    });
    const id = await session([vault.id]);
    await client.beta.sessions.events.send(id, say('search before'));
    await emulator.settled(id);
    mcp.validTokens.add('alice-token-2');
    await client.beta.vaults.credentials.update(credential.id, {
      vault_id: vault.id,
      auth: { type: 'static_bearer', token: 'alice-token-2' },
    });
    await client.beta.sessions.events.send(id, say('search after'));
    await emulator.settled(id);
    expect(mcp.calls.slice(-2).map((c) => [c.token, c.args.query])).toEqual([
      ['alice-token', 'before'],
      ['alice-token-2', 'after'],
    ]);
  });

  test('an interrupt while awaiting approval ends the turn, and the tool use can no longer be confirmed', async () => {
    const id = await session([aliceVault]);
    const stream = await watch(client, id);
    await client.beta.sessions.events.send(id, say('create a page titled Never'));
    const [use] = ofType(await stream.until(idle), 'agent.mcp_tool_use');
    await client.beta.sessions.events.send(id, { events: [{ type: 'user.interrupt' }] });
    const rest = await stream.until(turnEnded);
    stream.close();
    expect(rest.at(-1)).toMatchObject({ stop_reason: { type: 'end_turn' } });
    await expect(
      client.beta.sessions.events.send(id, {
        events: [{ type: 'user.tool_confirmation', tool_use_id: use?.id ?? '', result: 'allow' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  test('two approvals asked together: confirming one re-announces the other, confirming both resumes', async () => {
    const both: AgentScript = {
      async respond(turn) {
        const create = (await turn.tools()).find((t) => t.name === 'notion-create-pages');
        if (!create) throw new Error('no create tool');
        const outcomes = await Promise.all([
          turn.callTool(create, { title: 'A' }),
          turn.callTool(create, { title: 'B' }),
        ]);
        turn.say(outcomes.map((o) => o.status).join(','));
      },
    };
    const previous = emulator.script;
    emulator.script = both;
    try {
      const id = await session([aliceVault]);
      const stream = await watch(client, id);
      await client.beta.sessions.events.send(id, say('anything'));
      const paused = await stream.until(idle);
      const uses = ofType(paused, 'agent.mcp_tool_use').map((e) => e.id);
      expect(uses).toHaveLength(2);
      expect(paused.at(-1)).toMatchObject({ stop_reason: { type: 'requires_action', event_ids: uses } });

      await client.beta.sessions.events.send(id, {
        events: [{ type: 'user.tool_confirmation', tool_use_id: uses[0] ?? '', result: 'allow' }],
      });
      const partial = await stream.until(idle);
      expect(partial.at(-1)).toMatchObject({
        stop_reason: { type: 'requires_action', event_ids: [uses[1]] },
      });

      await client.beta.sessions.events.send(id, {
        events: [{ type: 'user.tool_confirmation', tool_use_id: uses[1] ?? '', result: 'deny' }],
      });
      const done = await stream.until(turnEnded);
      stream.close();
      expect(agentText(done)).toBe('ok,denied');
    } finally {
      emulator.script = previous;
    }
  });
});

describe('expired OAuth tokens', () => {
  let clock: ManualClock;
  let timed: ManagedAgentsEmulator;
  let timedClient: Anthropic;
  let timedAgent: string;
  let timedEnv: string;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    timed = await ManagedAgentsEmulator.start({ clock });
    timedClient = new Anthropic({ apiKey: timed.apiKey, baseURL: timed.url, maxRetries: 0 });
    timedEnv = (await timedClient.beta.environments.create({ name: 'timed' })).id;
    timedAgent = (
      await timedClient.beta.agents.create({
        name: 'timed',
        model: 'claude-sonnet-4-6',
        mcp_servers: [{ type: 'url', name: 'notion', url: mcp.url }],
        tools: [notionToolset()],
      })
    ).id;
  });

  afterAll(async () => {
    await timed.close();
  });

  async function expiringVault(refresh: boolean): Promise<{ vaultId: string; credentialId: string }> {
    const vault = await timedClient.beta.vaults.create({ display_name: 'expiring' });
    const credential = await timedClient.beta.vaults.credentials.create(vault.id, {
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: mcp.url,
        access_token: 'alice-token',
        expires_at: new Date(clock.now() + 60_000).toISOString(),
        ...(refresh
          ? {
              refresh: {
                refresh_token: REFRESH_TOKEN,
                client_id: 'deputy',
                token_endpoint: mcp.tokenEndpoint,
                token_endpoint_auth: { type: 'none' as const },
              },
            }
          : {}),
      },
    });
    return { vaultId: vault.id, credentialId: credential.id };
  }

  async function searchIn(vaultId: string): Promise<Event[]> {
    const id = (
      await timedClient.beta.sessions.create({
        agent: timedAgent,
        environment_id: timedEnv,
        vault_ids: [vaultId],
      })
    ).id;
    await timedClient.beta.sessions.events.send(id, say('search expired'));
    await timed.settled(id);
    return (await timedClient.beta.sessions.events.list(id)).data;
  }

  test('an expired token without a refresh token fails authentication before reaching the server', async () => {
    const { vaultId } = await expiringVault(false);
    clock.advance(120_000);
    const rejectedBefore = mcp.rejected.length;
    const callsBefore = mcp.calls.length;
    const events = await searchIn(vaultId);
    expect(ofType(events, 'session.error').map((e) => e.error.type)).toEqual([
      'mcp_authentication_failed_error',
    ]);
    expect(mcp.rejected.length).toBe(rejectedBefore);
    expect(mcp.calls.length).toBe(callsBefore);
  });

  test('an expired token with a refresh token is refreshed at the token endpoint and the new token used', async () => {
    const { vaultId, credentialId } = await expiringVault(true);
    clock.advance(120_000);
    const events = await searchIn(vaultId);
    expect(ofType(events, 'session.error')).toEqual([]);
    expect(mcp.calls.at(-1)).toEqual({
      token: 'refreshed-token',
      tool: 'notion-search',
      args: { query: 'expired' },
    });
    const grant = mcp.refreshGrants.at(-1);
    expect(grant?.get('client_id')).toBe('deputy');
    expect(timed.credentialSecrets(credentialId)?.access_token).toBe('refreshed-token');
    const credential = await timedClient.beta.vaults.credentials.retrieve(credentialId, {
      vault_id: vaultId,
    });
    expect(
      credential.auth.type === 'mcp_oauth' && Date.parse(credential.auth.expires_at ?? ''),
    ).toBeGreaterThan(clock.now());
  });
});
