import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { listenOnLoopback, sendJson } from '../../sandbox/http.js';
import { consentInBrowser, ProviderEmulator } from '../../sandbox/provider/index.js';
import {
  buildAuthorizationUrl,
  type ClientAuth,
  checkCallbackIssuer,
  createPkce,
  exchangeCode,
  revokeToken,
  TokenExchangeError,
  type TokenSet,
} from '../../src/connections/oauth/authorization.js';
import { discoverMcpAuthorization, registerClient } from '../../src/connections/oauth/discovery.js';
import { type ListeningServer, readBody } from '../../src/http.js';
import { createOutboundHttp, type OutboundHttp } from '../../src/net/outbound-http.js';

const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const CANARY_SECRET = 'canary_cs_7d41e9b2a0';
const CANARY_TOKEN = 'canary_at_c3f18a66de';

let emulator: ProviderEmulator;
const http = createOutboundHttp({ allowPrivateNetwork: true });
const servers: ListeningServer[] = [];

beforeAll(async () => {
  emulator = await ProviderEmulator.start({ tokenPrefix: 'canary' });
});
afterEach(async () => {
  emulator.resetBehaviour();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await emulator.close();
});

async function exchangeFailure(promise: Promise<unknown>): Promise<TokenExchangeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenExchangeError);
  return error as TokenExchangeError;
}

/** Nothing secret in any rendering of an error: message, inspect (with causes) or JSON. */
function expectNoneOf(error: unknown, secrets: readonly string[]): void {
  const rendered = `${String(error)} ${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`;
  for (const secret of secrets) expect(rendered).not.toContain(secret);
}

/** The browser part of a connect: authorize as `account`, returning the code and the verifier. */
async function authorize(
  clientId: string,
  account = 'acct_bob',
): Promise<{ code: string; verifier: string; iss?: string; state?: string }> {
  const pkce = createPkce();
  const url = buildAuthorizationUrl({
    authorizationEndpoint: `${emulator.url}/authorize`,
    clientId,
    redirectUri: REDIRECT_URI,
    state: 'flow-state-1',
    codeChallenge: pkce.challenge,
    scope: 'read write',
    resource: emulator.mcpUrl,
  });
  const back = await consentInBrowser(url, { account });
  if (!back.code) throw new Error(`no code: ${back.error}`);
  return {
    code: back.code,
    verifier: pkce.verifier,
    ...(back.iss ? { iss: back.iss } : {}),
    ...(back.state ? { state: back.state } : {}),
  };
}

async function publicClient(): Promise<string> {
  const { authorizationServer } = await discoverMcpAuthorization(http, emulator.mcpUrl);
  return (
    await registerClient(http, authorizationServer, { redirectUri: REDIRECT_URI, clientName: 'Deputy' })
  ).clientId;
}

function exchange(
  clientId: string,
  clientAuth: ClientAuth,
  grant: { code: string; verifier: string },
  via: OutboundHttp = http,
): Promise<TokenSet> {
  return exchangeCode(via, {
    tokenEndpoint: `${emulator.url}/token`,
    clientId,
    clientAuth,
    code: grant.code,
    redirectUri: REDIRECT_URI,
    codeVerifier: grant.verifier,
    resource: emulator.mcpUrl,
    now: NOW,
  });
}

/** Calls a tool the way the Managed Agents platform would, with the token as a bearer. */
async function callSearch(accessToken: string): Promise<void> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(emulator.mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
    fetch: http.fetch,
  });
  try {
    await client.connect(transport);
    await client.callTool({ name: 'search', arguments: { query: 'notes' } });
  } finally {
    await client.close();
  }
}

async function loopback(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): Promise<string> {
  const server = await listenOnLoopback(handler);
  servers.push(server);
  return server.url;
}

describe('authorization request', () => {
  test('createPkce makes a fresh 32-byte base64url verifier and its S256 challenge', () => {
    const first = createPkce();
    const second = createPkce();
    expect(first.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.challenge).toBe(createHash('sha256').update(first.verifier).digest('base64url'));
    expect(second.verifier).not.toBe(first.verifier);
  });

  test('buildAuthorizationUrl always sends state with PKCE S256, plus scope and resource, and keeps the endpoint query', () => {
    const url = new URL(
      buildAuthorizationUrl({
        authorizationEndpoint: 'https://slack.example/oauth/v2/authorize?team=T1&state=forged',
        clientId: 'c-1',
        redirectUri: 'https://deputy.example/oauth/callback',
        state: 's1',
        codeChallenge: 'ch',
        scope: 'read',
        resource: 'https://mcp.example/mcp',
        extraParams: { user_scope: 'search:read' },
      }),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      team: 'T1',
      response_type: 'code',
      client_id: 'c-1',
      redirect_uri: 'https://deputy.example/oauth/callback',
      state: 's1',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
      scope: 'read',
      resource: 'https://mcp.example/mcp',
      user_scope: 'search:read',
    });
  });

  test('buildAuthorizationUrl lets no extra parameter replace the PKCE method and accepts only http(s) endpoints', () => {
    const base = {
      authorizationEndpoint: 'https://as.example/authorize',
      clientId: 'c',
      redirectUri: 'https://deputy.example/cb',
      state: 's',
      codeChallenge: 'ch',
    };
    expect(() => buildAuthorizationUrl({ ...base, extraParams: { code_challenge_method: 'plain' } })).toThrow(
      'code_challenge_method',
    );
    expect(() => buildAuthorizationUrl({ ...base, authorizationEndpoint: 'javascript:alert(1)' })).toThrow();
  });

  test('checkCallbackIssuer accepts only the expected iss, and a missing iss only where the server does not advertise it', () => {
    expect(checkCallbackIssuer('https://as.example', 'https://as.example', true)).toBe(true);
    expect(checkCallbackIssuer('https://as.example', 'https://evil.example', true)).toBe(false);
    expect(checkCallbackIssuer('https://as.example', 'https://evil.example', false)).toBe(false);
    expect(checkCallbackIssuer('https://as.example', undefined, true)).toBe(false);
    expect(checkCallbackIssuer('https://as.example', undefined, false)).toBe(true);
  });
});

describe('exchangeCode against the provider emulator', () => {
  test('a full connect yields tokens that the MCP server attributes to the account that consented', async () => {
    const clientId = await publicClient();
    const grant = await authorize(clientId, 'acct_bob');
    expect(grant.state).toBe('flow-state-1');
    expect(checkCallbackIssuer(emulator.url, grant.iss, true)).toBe(true);

    const tokens = await exchange(clientId, { type: 'none' }, grant);
    expect(tokens).toMatchObject({ tokenType: 'Bearer', scope: 'read write' });
    expect(tokens.expiresAt).toEqual(new Date(NOW.getTime() + 3600 * 1000));
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(emulator.tokenInfo(tokens.accessToken)).toMatchObject({
      accountId: 'acct_bob',
      clientId,
      active: true,
    });
    expect(emulator.tokenRequests.at(-1)).toMatchObject({
      clientAuth: 'none',
      codeVerifierPresent: true,
      resource: emulator.mcpUrl,
      outcome: 'issued',
    });

    await callSearch(tokens.accessToken);
    expect(emulator.callsBy('acct_bob').map((c) => c.tool)).toEqual(['search']);
    expect(emulator.callsBy('acct_alice')).toEqual([]);
  });

  test('a code redeemed with another verifier is refused as invalid_grant, and the error names neither', async () => {
    const clientId = await publicClient();
    const grant = await authorize(clientId);
    const wrong = createPkce().verifier;
    const error = await exchangeFailure(
      exchange(clientId, { type: 'none' }, { code: grant.code, verifier: wrong }),
    );
    expect(error.code).toBe('invalid_grant');
    expectNoneOf(error, [grant.code, wrong, grant.verifier]);
  });

  test('a token endpoint that fails with server_error gives provider_error', async () => {
    const clientId = await publicClient();
    const grant = await authorize(clientId);
    emulator.setBehaviour({ tokenEndpoint: 'server_error' });
    const error = await exchangeFailure(exchange(clientId, { type: 'none' }, grant));
    expect(error.code).toBe('provider_error');
    expect(error.message).not.toContain('The token service is unavailable');
    expectNoneOf(error, [grant.code, grant.verifier]);
  });

  test('a token endpoint that answers invalid_grant gives invalid_grant', async () => {
    const clientId = await publicClient();
    const grant = await authorize(clientId);
    emulator.setBehaviour({ tokenEndpoint: 'invalid_grant' });
    expect((await exchangeFailure(exchange(clientId, { type: 'none' }, grant))).code).toBe('invalid_grant');
  });

  test('a token endpoint slower than the request timeout gives timeout', async () => {
    const clientId = await publicClient();
    const grant = await authorize(clientId);
    emulator.setBehaviour({ tokenDelayMs: 5_000 });
    const impatient = createOutboundHttp({ allowPrivateNetwork: true, timeoutMs: 200 });
    const error = await exchangeFailure(exchange(clientId, { type: 'none' }, grant, impatient));
    expect(error.code).toBe('timeout');
    expectNoneOf(error, [grant.code, grant.verifier]);
  });

  test('an unsafe token endpoint is refused before anything is sent (unsafe_url)', async () => {
    const strict = createOutboundHttp({ allowPrivateNetwork: false });
    const before = emulator.tokenRequests.length;
    const error = await exchangeFailure(
      exchange('c', { type: 'none' }, { code: 'x', verifier: 'y' }, strict),
    );
    expect(error.code).toBe('unsafe_url');
    expect(emulator.tokenRequests.length).toBe(before);
  });

  test.each([
    ['client_secret_basic', 'deputy-gh-app-0001'],
    ['client_secret_post', 'deputy-gh-app-0002'],
  ] as const)('a pre-registered confidential client authenticates with %s', async (method, clientId) => {
    emulator.registerClient({
      client_id: clientId,
      client_secret: CANARY_SECRET,
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: method,
    });
    const tokens = await exchange(
      clientId,
      { type: method, clientSecret: CANARY_SECRET },
      await authorize(clientId),
    );
    expect(emulator.tokenInfo(tokens.accessToken)).toMatchObject({ accountId: 'acct_bob', clientId });
    expect(emulator.tokenRequests.at(-1)).toMatchObject({ clientAuth: method, outcome: 'issued' });

    const wrong = await exchangeFailure(
      exchange(clientId, { type: method, clientSecret: `${CANARY_SECRET}-wrong` }, await authorize(clientId)),
    );
    expect(wrong.code).toBe('provider_error');
    expectNoneOf(wrong, [CANARY_SECRET]);
  });
});

describe('revokeToken', () => {
  test('revoking the access token makes the MCP server answer 401 to it', async () => {
    const clientId = await publicClient();
    const tokens = await exchange(clientId, { type: 'none' }, await authorize(clientId));
    const revoked = await revokeToken(http, {
      revocationEndpoint: `${emulator.url}/revoke`,
      token: tokens.accessToken,
      tokenTypeHint: 'access_token',
      clientId,
      clientAuth: { type: 'none' },
    });
    expect(revoked).toBe(true);
    const response = await http.fetch(emulator.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });

  test('returns false, without throwing, when the provider has no revocation or cannot be reached safely', async () => {
    const clientId = await publicClient();
    const tokens = await exchange(clientId, { type: 'none' }, await authorize(clientId));
    emulator.setBehaviour({ revocation: false });
    const input = { token: tokens.accessToken, clientId, clientAuth: { type: 'none' } as const };
    expect(await revokeToken(http, { ...input, revocationEndpoint: `${emulator.url}/revoke` })).toBe(false);
    const strict = createOutboundHttp({ allowPrivateNetwork: false });
    expect(await revokeToken(strict, { ...input, revocationEndpoint: `${emulator.url}/revoke` })).toBe(false);
    expect(emulator.tokenInfo(tokens.accessToken)?.active).toBe(true);
  });
});

describe('provider-specific token responses', () => {
  /** A loopback token endpoint answering `body` with `status`, recording what it was sent. */
  async function tokenEndpoint(status: number, body: unknown) {
    const seen: { authorization?: string; form?: Record<string, string> } = {};
    const url = await loopback(async (req, res) => {
      if (req.headers.authorization) seen.authorization = req.headers.authorization;
      seen.form = Object.fromEntries(new URLSearchParams((await readBody(req)).toString()));
      sendJson(res, status, body);
    });
    return { url: `${url}/token`, seen };
  }

  const input = (
    tokenEndpoint: string,
    responseShape: 'standard' | 'slack_user',
    clientAuth: ClientAuth,
  ) => ({
    tokenEndpoint,
    clientId: '1234567890.0987654321',
    clientAuth,
    code: 'the-code',
    redirectUri: REDIRECT_URI,
    codeVerifier: 'v'.repeat(43),
    responseShape,
    now: NOW,
  });

  test("slack_user takes the user token from Slack's oauth.v2.access answer and sends raw Basic credentials", async () => {
    const endpoint = await tokenEndpoint(200, {
      ok: true,
      access_token: 'xoxb-bot-token-not-for-users',
      token_type: 'bot',
      authed_user: {
        id: 'U123',
        scope: 'search:read,chat:write',
        access_token: 'xoxp-user-token',
        token_type: 'user',
        refresh_token: 'xoxe-1-refresh',
        expires_in: 43_200,
      },
    });
    // Characters that RFC 6749's form-encoding would change: the header must carry them raw.
    const clientSecret = 'sl-ack+secret/with=odd%chars';
    const tokens = await exchangeCode(
      http,
      input(endpoint.url, 'slack_user', { type: 'client_secret_basic', clientSecret }),
    );
    expect(tokens).toEqual({
      accessToken: 'xoxp-user-token',
      tokenType: 'Bearer',
      refreshToken: 'xoxe-1-refresh',
      expiresAt: new Date(NOW.getTime() + 43_200 * 1000),
      scope: 'search:read,chat:write',
    });
    expect(endpoint.seen.authorization).toBe(
      `Basic ${Buffer.from(`1234567890.0987654321:${clientSecret}`).toString('base64')}`,
    );
    expect(endpoint.seen.form).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: REDIRECT_URI,
      code_verifier: 'v'.repeat(43),
    });
  });

  test('slack_user maps ok:false to invalid_grant for a bad code and provider_error otherwise, never echoing the answer', async () => {
    const auth = { type: 'client_secret_post', clientSecret: CANARY_SECRET } as const;
    const badCode = await tokenEndpoint(200, { ok: false, error: 'invalid_code', echoed: CANARY_TOKEN });
    const badCodeError = await exchangeFailure(exchangeCode(http, input(badCode.url, 'slack_user', auth)));
    expect(badCodeError.code).toBe('invalid_grant');
    expect(badCode.seen.form).toMatchObject({
      client_id: '1234567890.0987654321',
      client_secret: CANARY_SECRET,
    });

    const other = await tokenEndpoint(200, { ok: false, error: `bad_client_secret ${CANARY_TOKEN}` });
    const otherError = await exchangeFailure(exchangeCode(http, input(other.url, 'slack_user', auth)));
    expect(otherError.code).toBe('provider_error');

    const noUser = await tokenEndpoint(200, { ok: true, access_token: 'xoxb-bot-only' });
    expect((await exchangeFailure(exchangeCode(http, input(noUser.url, 'slack_user', auth)))).code).toBe(
      'invalid_response',
    );
    expectNoneOf([badCodeError, otherError], [CANARY_TOKEN, CANARY_SECRET]);
  });

  test.each([
    ['an error answered with HTTP 200 (GitHub)', 'invalid_grant', 200, { error: 'bad_verification_code' }],
    [
      'a 400 invalid_grant whose description echoes a token',
      'invalid_grant',
      400,
      { error: 'invalid_grant', error_description: CANARY_TOKEN },
    ],
    ['a 401 invalid_client', 'provider_error', 401, { error: 'invalid_client' }],
    ['a 502 with an HTML body', 'provider_error', 502, '<html>bad gateway</html>'],
    ['a 200 without an access token', 'invalid_response', 200, { token_type: 'bearer' }],
    [
      'a 200 with a DPoP-bound token',
      'invalid_response',
      200,
      { access_token: CANARY_TOKEN, token_type: 'DPoP' },
    ],
  ] as const)('the standard shape maps %s to %s', async (_case, code, status, body) => {
    const endpoint = await tokenEndpoint(status, body);
    const error = await exchangeFailure(
      exchangeCode(http, input(endpoint.url, 'standard', { type: 'none' })),
    );
    expect(error.code).toBe(code);
    expectNoneOf(error, [CANARY_TOKEN]);
  });

  test('the standard shape accepts a lower-case bearer type, a null refresh token (Notion) and a string expires_in', async () => {
    const endpoint = await tokenEndpoint(200, {
      access_token: 'ntn_token',
      token_type: 'bearer',
      refresh_token: null,
      expires_in: '600',
      workspace_id: 'w1',
    });
    const tokens = await exchangeCode(http, input(endpoint.url, 'standard', { type: 'none' }));
    expect(tokens).toEqual({
      accessToken: 'ntn_token',
      tokenType: 'bearer',
      expiresAt: new Date(NOW.getTime() + 600_000),
    });
    expect(endpoint.seen.form).toMatchObject({ client_id: '1234567890.0987654321' });
    expect(endpoint.seen.authorization).toBeUndefined();
  });
});
