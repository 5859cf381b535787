import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { listenOnLoopback, sendJson } from '../../sandbox/http.js';
import { ProviderEmulator } from '../../sandbox/provider/index.js';
import {
  type AuthorizationServerInfo,
  discoverMcpAuthorization,
  OAuthSetupError,
  registerClient,
  resourceMetadataFromChallenge,
} from '../../src/connections/oauth/discovery.js';
import { normaliseResourceUrl, sameResource } from '../../src/connections/oauth/resource-url.js';
import type { ListeningServer } from '../../src/http.js';
import { createOutboundHttp, type OutboundHttp, type ResolveHost } from '../../src/net/outbound-http.js';

const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback';

let emulator: ProviderEmulator;
const sandboxHttp = createOutboundHttp({ allowPrivateNetwork: true });
const servers: ListeningServer[] = [];

beforeAll(async () => {
  emulator = await ProviderEmulator.start();
});
afterEach(async () => {
  emulator.resetBehaviour();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await emulator.close();
});

/** A hand-written MCP/AS metadata host: `routes` maps "METHOD path" to a handler, given the server's own URL. */
async function metadataHost(
  routes: Record<string, (base: string, req: IncomingMessage, res: ServerResponse) => void>,
): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  let base = '';
  const server = await listenOnLoopback((req, res) => {
    const key = `${req.method} ${new URL(req.url ?? '/', base).pathname}`;
    hits.push(key);
    const route = routes[key];
    if (route) return route(base, req, res);
    sendJson(res, 404, { error: 'not_found' });
  });
  base = server.url;
  servers.push(server);
  return { url: server.url, hits };
}

const json =
  (body: (base: string) => unknown) =>
  (base: string, _req: IncomingMessage, res: ServerResponse): void =>
    sendJson(res, 200, body(base));

async function setupError(promise: Promise<unknown>): Promise<OAuthSetupError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthSetupError);
  return error as OAuthSetupError;
}

/**
 * The real sandbox client, except that assertSafeUrl treats `trustedOrigin` (a loopback test
 * server) as if it were a public host and applies the production policy to everything else.
 */
function productionPolicyExcept(trustedOrigin: string, resolveHost?: ResolveHost): OutboundHttp {
  const strict = createOutboundHttp({ allowPrivateNetwork: false, ...(resolveHost ? { resolveHost } : {}) });
  return {
    ...sandboxHttp,
    assertSafeUrl: (url) =>
      new URL(url).origin === trustedOrigin ? Promise.resolve() : strict.assertSafeUrl(url),
  };
}

describe('discoverMcpAuthorization', () => {
  test('finds the resource, issuer, endpoints and scopes from RFC 9728 and RFC 8414 metadata', async () => {
    const found = await discoverMcpAuthorization(sandboxHttp, emulator.mcpUrl);
    expect(found).toEqual({
      resource: emulator.mcpUrl,
      authorizationServer: {
        issuer: emulator.url,
        authorizationEndpoint: `${emulator.url}/authorize`,
        tokenEndpoint: `${emulator.url}/token`,
        registrationEndpoint: `${emulator.url}/register`,
        revocationEndpoint: `${emulator.url}/revoke`,
        scopesSupported: ['read', 'write'],
        tokenEndpointAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
        issuerParameterSupported: true,
      },
      scopes: ['read', 'write'],
    });
  });

  test('refuses a server whose metadata names another resource on the same origin (resource_mismatch)', async () => {
    emulator.clearRecords();
    emulator.setBehaviour({ resourceMismatch: true });
    expect((await setupError(discoverMcpAuthorization(sandboxHttp, emulator.mcpUrl))).code).toBe(
      'resource_mismatch',
    );
    // Refused during discovery: nothing was registered and no authorization request was made.
    expect(emulator.registrations).toEqual([]);
    expect(emulator.authorizations).toEqual([]);
    emulator.setBehaviour({ resourceMismatch: 'https://mcp.other.example/mcp' });
    expect((await setupError(discoverMcpAuthorization(sandboxHttp, emulator.mcpUrl))).code).toBe(
      'resource_mismatch',
    );
  });

  test('refuses an authorization server that does not offer PKCE S256 (pkce_unsupported)', async () => {
    emulator.setBehaviour({ withoutS256: true });
    expect((await setupError(discoverMcpAuthorization(sandboxHttp, emulator.mcpUrl))).code).toBe(
      'pkce_unsupported',
    );
  });

  test('with private networks not allowed, a loopback or plain-http MCP server is refused (unsafe_url) before any request', async () => {
    const host = await metadataHost({});
    const strict = createOutboundHttp({ allowPrivateNetwork: false });
    expect((await setupError(discoverMcpAuthorization(strict, `${host.url}/mcp`))).code).toBe('unsafe_url');
    expect((await setupError(discoverMcpAuthorization(strict, 'https://127.0.0.1/mcp'))).code).toBe(
      'unsafe_url',
    );
    expect(host.hits).toEqual([]);
  });

  test('refuses an MCP server whose host name resolves to the cloud metadata address (unsafe_url)', async () => {
    const dns: ResolveHost = async () => [{ address: '169.254.169.254', family: 4 }];
    const strict = createOutboundHttp({ allowPrivateNetwork: false, resolveHost: dns });
    expect((await setupError(discoverMcpAuthorization(strict, 'https://mcp.attacker.test/mcp'))).code).toBe(
      'unsafe_url',
    );
  });

  test('refuses metadata that sends Deputy to a link-local authorization server or a private endpoint (unsafe_url)', async () => {
    const prm = (authorizationServer: string) =>
      json((base) => ({ resource: `${base}/mcp`, authorization_servers: [authorizationServer] }));
    const linkLocal = await metadataHost({
      'GET /.well-known/oauth-protected-resource/mcp': prm('https://169.254.169.254/'),
    });
    const error = await setupError(
      discoverMcpAuthorization(productionPolicyExcept(linkLocal.url), `${linkLocal.url}/mcp`),
    );
    expect(error.code).toBe('unsafe_url');

    const privateToken = await metadataHost({
      'GET /.well-known/oauth-protected-resource/mcp': json((base) => ({
        resource: `${base}/mcp`,
        authorization_servers: [base],
      })),
      'GET /.well-known/oauth-authorization-server': json((base) => ({
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: 'https://10.0.0.5/token',
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      })),
    });
    const second = await setupError(
      discoverMcpAuthorization(productionPolicyExcept(privateToken.url), `${privateToken.url}/mcp`),
    );
    expect(second.code).toBe('unsafe_url');
  });

  test('falls back to the root protected-resource metadata when the path-specific one is missing', async () => {
    const host = await metadataHost({
      'GET /.well-known/oauth-protected-resource': json((base) => ({
        resource: `${base}/mcp`,
        authorization_servers: [emulator.url],
      })),
    });
    const found = await discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`);
    expect(found.resource).toBe(`${host.url}/mcp`);
    expect(found.authorizationServer.issuer).toBe(emulator.url);
    expect(host.hits).toEqual([
      'GET /.well-known/oauth-protected-resource/mcp',
      'GET /.well-known/oauth-protected-resource',
    ]);
  });

  test("falls back to the resource_metadata URL in the MCP server's 401 challenge", async () => {
    const host = await metadataHost({
      'POST /mcp': (base, _req, res) =>
        sendJson(
          res,
          401,
          { error: 'unauthorized' },
          {
            'www-authenticate': `Bearer error="invalid_token", resource_metadata="${base}/meta/prm"`,
          },
        ),
      'GET /meta/prm': json((base) => ({ resource: `${base}/mcp`, authorization_servers: [emulator.url] })),
    });
    const found = await discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`);
    expect(found.resource).toBe(`${host.url}/mcp`);
    expect(host.hits).toContain('GET /meta/prm');
  });

  test('reports metadata_unavailable when no protected-resource metadata can be found', async () => {
    const host = await metadataHost({});
    expect((await setupError(discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`))).code).toBe(
      'metadata_unavailable',
    );
  });

  test('reports invalid_metadata for a protected-resource document without authorization servers', async () => {
    const host = await metadataHost({
      'GET /.well-known/oauth-protected-resource/mcp': json((base) => ({ resource: `${base}/mcp` })),
    });
    expect((await setupError(discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`))).code).toBe(
      'invalid_metadata',
    );
  });

  test('refuses authorization-server metadata whose issuer is not the one the resource named (invalid_metadata)', async () => {
    const host = await metadataHost({
      'GET /.well-known/oauth-protected-resource/mcp': json((base) => ({
        resource: `${base}/mcp`,
        authorization_servers: [base],
      })),
      'GET /.well-known/oauth-authorization-server': json(() => ({
        issuer: emulator.url,
        authorization_endpoint: `${emulator.url}/authorize`,
        token_endpoint: `${emulator.url}/token`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      })),
    });
    const error = await setupError(discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`));
    expect(error.code).toBe('invalid_metadata');
    expect(error.message).toContain('issuer');
  });

  test('uses OIDC discovery when RFC 8414 metadata is missing', async () => {
    const host = await metadataHost({
      'GET /.well-known/oauth-protected-resource/mcp': json((base) => ({
        resource: `${base}/mcp`,
        authorization_servers: [base],
      })),
      // An OpenID provider's discovery document, with the fields OpenID Connect Discovery requires.
      'GET /.well-known/openid-configuration': json((base) => ({
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        jwks_uri: `${base}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      })),
    });
    const found = await discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`);
    expect(found.authorizationServer.tokenEndpoint).toBe(`${host.url}/token`);
    expect(found.authorizationServer.registrationEndpoint).toBeUndefined();
  });

  test('accepts a resource that differs only by a trailing slash and returns it as the metadata names it', async () => {
    const host = await metadataHost({
      'GET /.well-known/oauth-protected-resource/mcp': json((base) => ({
        resource: `${base}/mcp/`,
        authorization_servers: [emulator.url],
      })),
    });
    const found = await discoverMcpAuthorization(sandboxHttp, `${host.url}/mcp`);
    expect(found.resource).toBe(`${host.url}/mcp/`);
  });
});

describe('registerClient', () => {
  async function authorizationServer(): Promise<AuthorizationServerInfo> {
    return (await discoverMcpAuthorization(sandboxHttp, emulator.mcpUrl)).authorizationServer;
  }

  test('registers Deputy as a public client with no secret, for the code and refresh grants', async () => {
    const { clientId } = await registerClient(sandboxHttp, await authorizationServer(), {
      redirectUri: REDIRECT_URI,
      clientName: 'Deputy (test)',
    });
    expect(emulator.client(clientId)).toMatchObject({
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      client_name: 'Deputy (test)',
      dynamic: true,
    });
    expect(emulator.client(clientId)?.client_secret).toBeUndefined();
  });

  test('a server that advertises registration but forbids it gives registration_failed', async () => {
    const server = await authorizationServer();
    emulator.setBehaviour({ registration: 'forbidden' });
    const error = await setupError(
      registerClient(sandboxHttp, server, { redirectUri: REDIRECT_URI, clientName: 'Deputy' }),
    );
    expect(error.code).toBe('registration_failed');
    expect(error.message).toContain('403');
  });

  test('a server without a registration endpoint gives registration_unsupported', async () => {
    emulator.setBehaviour({ registration: 'absent' });
    const server = await authorizationServer();
    expect(server.registrationEndpoint).toBeUndefined();
    const error = await setupError(
      registerClient(sandboxHttp, server, { redirectUri: REDIRECT_URI, clientName: 'Deputy' }),
    );
    expect(error.code).toBe('registration_unsupported');
  });

  test('a server that registers a confidential client instead of a public one is refused', async () => {
    const host = await metadataHost({
      'POST /register': (_base, _req, res) =>
        sendJson(res, 201, {
          client_id: 'c1',
          client_secret: 'kept-nowhere',
          token_endpoint_auth_method: 'client_secret_basic',
        }),
    });
    const server = {
      issuer: host.url,
      authorizationEndpoint: `${host.url}/a`,
      tokenEndpoint: `${host.url}/t`,
      registrationEndpoint: `${host.url}/register`,
    };
    const error = await setupError(
      registerClient(sandboxHttp, server, { redirectUri: REDIRECT_URI, clientName: 'Deputy' }),
    );
    expect(error.code).toBe('registration_failed');
  });
});

describe('URL helpers', () => {
  test('resource comparison ignores scheme and host case, the default port and a trailing slash, but not the path', () => {
    expect(sameResource('HTTPS://MCP.Example.com:443/mcp/', 'https://mcp.example.com/mcp')).toBe(true);
    expect(sameResource('https://mcp.example.com', 'https://mcp.example.com/')).toBe(true);
    expect(sameResource('https://mcp.example.com/mcp', 'https://mcp.example.com/not-mcp')).toBe(false);
    expect(sameResource('https://mcp.example.com:8443/mcp', 'https://mcp.example.com/mcp')).toBe(false);
    expect(sameResource('http://mcp.example.com/mcp', 'https://mcp.example.com/mcp')).toBe(false);
    expect(normaliseResourceUrl('not a url')).toBeUndefined();
  });

  test('the resource_metadata parameter is read from quoted and unquoted challenges', () => {
    expect(resourceMetadataFromChallenge('Bearer resource_metadata="https://x.example/prm"')).toBe(
      'https://x.example/prm',
    );
    expect(
      resourceMetadataFromChallenge([
        'Basic realm="a"',
        'Bearer realm="b", resource_metadata=https://y.example/p',
      ]),
    ).toBe('https://y.example/p');
    expect(resourceMetadataFromChallenge('Bearer realm="mcp"')).toBeUndefined();
  });
});
