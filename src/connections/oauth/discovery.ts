import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  registerClient as registerClientWithSdk,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { ZodError } from 'zod';
import { type OutboundHttp, OutboundRequestError, UnsafeUrlError } from '../../net/outbound-http.js';
import {
  AuthorizationServerMetadata,
  ClientRegistrationResponse,
  ProtectedResourceMetadata,
} from './metadata-schemas.js';
import { sameResource } from './resource-url.js';

export type OAuthSetupErrorCode =
  | 'unsafe_url'
  | 'metadata_unavailable'
  | 'resource_mismatch'
  | 'pkce_unsupported'
  | 'registration_unsupported'
  | 'registration_failed'
  | 'invalid_metadata';

/** Why a connect flow cannot start. Raised before the user is redirected anywhere; no response bodies in the message. */
export class OAuthSetupError extends Error {
  override readonly name = 'OAuthSetupError';
  constructor(
    readonly code: OAuthSetupErrorCode,
    message: string,
  ) {
    super(`${message} (${code})`);
  }
}

export interface AuthorizationServerInfo {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
  revocationEndpoint?: string;
  scopesSupported?: string[];
  tokenEndpointAuthMethods?: string[];
  /** RFC 9207 `authorization_response_iss_parameter_supported`: the callback must then carry `iss`. */
  issuerParameterSupported?: boolean;
}

export interface McpAuthorization {
  /** The RFC 8707 resource to send, exactly as the protected-resource metadata names it. */
  resource: string;
  authorizationServer: AuthorizationServerInfo;
  /** The PRM's scopes_supported. */
  scopes?: string[];
}

/** Runs `step`, turning an unsafe URL into the setup error a flow reports. */
async function guarded<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof UnsafeUrlError) {
      throw new OAuthSetupError(
        'unsafe_url',
        `A URL in the provider's metadata is not allowed: ${error.reason}`,
      );
    }
    throw error;
  }
}

type Found<T> = { kind: 'found'; value: T } | { kind: 'invalid' } | { kind: 'absent' };

/**
 * Runs one of the MCP SDK's discovery helpers through the guarded fetch. Its errors say what it
 * fetched and may quote the server; they become one of our outcomes and never travel further: an
 * unsafe URL is refused, a document that does not parse is invalid, anything else means not found.
 */
async function found<T>(discover: () => Promise<T | undefined>): Promise<Found<T>> {
  try {
    const value = await guarded(discover);
    return value === undefined ? { kind: 'absent' } : { kind: 'found', value };
  } catch (error) {
    if (error instanceof OAuthSetupError) throw error;
    if (error instanceof ZodError || error instanceof SyntaxError) return { kind: 'invalid' };
    return { kind: 'absent' };
  }
}

/**
 * RFC 9728 §5.1: the `resource_metadata` URL an MCP server names in its 401 challenge. Kept rather
 * than the SDK's parser, which reads only a header whose first challenge is Bearer: a server (or a
 * proxy in front of it) may offer another scheme first.
 */
export function resourceMetadataFromChallenge(header: string | string[] | undefined): string | undefined {
  for (const value of Array.isArray(header) ? header : header ? [header] : []) {
    const match = /(?:^|[\s,])resource_metadata\s*=\s*(?:"([^"]*)"|([^\s,]+))/i.exec(value);
    const url = match?.[1] ?? match?.[2];
    if (url) return url;
  }
  return undefined;
}

/** Asks the MCP server itself, unauthenticated, and reads the metadata URL from its 401. */
async function challengeMetadataUrl(http: OutboundHttp, mcpServerUrl: string): Promise<string | undefined> {
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'Deputy', version: '1.0.0' },
    },
  };
  try {
    const result = await guarded(() =>
      http.sendJson('POST', mcpServerUrl, initialize, {
        headers: { accept: 'application/json, text/event-stream' },
      }),
    );
    if (result.status !== 401) return undefined;
    const named = resourceMetadataFromChallenge(result.headers['www-authenticate']);
    return named && URL.canParse(named, mcpServerUrl) ? new URL(named, mcpServerUrl).href : undefined;
  } catch (error) {
    if (error instanceof OutboundRequestError) return undefined;
    throw error;
  }
}

/**
 * RFC 9728 metadata of the MCP server: at its path-aware well-known URL or the origin's (the SDK's
 * discovery), else at the URL its 401 challenge names. Deputy then insists on what the SDK leaves
 * optional: at least one authorization server.
 */
async function protectedResourceMetadata(
  http: OutboundHttp,
  mcpServerUrl: string,
): Promise<ProtectedResourceMetadata> {
  const discover = (resourceMetadataUrl?: string) =>
    found(async () => {
      if (resourceMetadataUrl) await http.assertSafeUrl(resourceMetadataUrl);
      return discoverOAuthProtectedResourceMetadata(
        mcpServerUrl,
        resourceMetadataUrl ? { resourceMetadataUrl } : {},
        http.oauthFetch,
      );
    });
  let document = await discover();
  if (document.kind !== 'found') {
    const named = await challengeMetadataUrl(http, mcpServerUrl);
    const fromChallenge = named ? await discover(named) : document;
    if (fromChallenge.kind !== 'absent') document = fromChallenge;
  }
  if (document.kind === 'absent') {
    throw new OAuthSetupError(
      'metadata_unavailable',
      'The MCP server publishes no protected-resource metadata',
    );
  }
  const parsed = document.kind === 'found' ? ProtectedResourceMetadata.safeParse(document.value) : undefined;
  if (!parsed?.success) {
    throw new OAuthSetupError(
      'invalid_metadata',
      'The MCP server published unreadable protected-resource metadata',
    );
  }
  return parsed.data;
}

/** RFC 8414 metadata, or OpenID Connect discovery's, of the issuer (the SDK's discovery, in its order). */
async function authorizationServerMetadata(
  http: OutboundHttp,
  issuer: string,
): Promise<AuthorizationServerMetadata> {
  const document = await found(() =>
    discoverAuthorizationServerMetadata(issuer, { fetchFn: http.oauthFetch }),
  );
  if (document.kind === 'absent') {
    throw new OAuthSetupError('metadata_unavailable', 'The authorization server publishes no metadata');
  }
  const parsed =
    document.kind === 'found' ? AuthorizationServerMetadata.safeParse(document.value) : undefined;
  if (!parsed?.success) {
    throw new OAuthSetupError('invalid_metadata', 'The authorization server published unreadable metadata');
  }
  return parsed.data;
}

/**
 * Finds how to authorize against an MCP server (RFC 9728 then RFC 8414/OIDC) and checks it all
 * before any user is redirected: the metadata must name this very server as its resource (a
 * server cannot borrow another's audience), the issuer must be the one asked for (mix-up), S256
 * must be offered (code injection), and every URL must pass the outbound policy (SSRF).
 */
export async function discoverMcpAuthorization(
  http: OutboundHttp,
  mcpServerUrl: string,
): Promise<McpAuthorization> {
  await guarded(() => http.assertSafeUrl(mcpServerUrl));
  const prm = await protectedResourceMetadata(http, mcpServerUrl);
  if (!sameResource(prm.resource, mcpServerUrl)) {
    throw new OAuthSetupError('resource_mismatch', 'The MCP server metadata names a different resource');
  }
  const issuer = prm.authorization_servers[0] as string;
  await guarded(() => http.assertSafeUrl(issuer));
  const as = await authorizationServerMetadata(http, issuer);
  if (!sameResource(as.issuer, issuer)) {
    throw new OAuthSetupError(
      'invalid_metadata',
      'The authorization server metadata names a different issuer',
    );
  }
  if (!as.code_challenge_methods_supported?.includes('S256')) {
    throw new OAuthSetupError('pkce_unsupported', 'The authorization server does not support PKCE with S256');
  }
  const endpoints = [
    as.authorization_endpoint,
    as.token_endpoint,
    as.registration_endpoint,
    as.revocation_endpoint,
  ];
  for (const endpoint of endpoints) if (endpoint) await guarded(() => http.assertSafeUrl(endpoint));
  return {
    resource: prm.resource,
    authorizationServer: {
      issuer: as.issuer,
      authorizationEndpoint: as.authorization_endpoint,
      tokenEndpoint: as.token_endpoint,
      ...(as.registration_endpoint ? { registrationEndpoint: as.registration_endpoint } : {}),
      ...(as.revocation_endpoint ? { revocationEndpoint: as.revocation_endpoint } : {}),
      ...(as.scopes_supported ? { scopesSupported: as.scopes_supported } : {}),
      ...(as.token_endpoint_auth_methods_supported
        ? { tokenEndpointAuthMethods: as.token_endpoint_auth_methods_supported }
        : {}),
      ...(as.authorization_response_iss_parameter_supported !== undefined
        ? { issuerParameterSupported: as.authorization_response_iss_parameter_supported }
        : {}),
    },
    ...(prm.scopes_supported ? { scopes: prm.scopes_supported } : {}),
  };
}

/**
 * RFC 7591 dynamic registration as a public client (`token_endpoint_auth_method: none`, PKCE is
 * the proof): Deputy keeps no client secrets in storage. A server that insists on registering a
 * confidential client is refused, since its secret would have nowhere to live.
 */
export async function registerClient(
  http: OutboundHttp,
  server: AuthorizationServerInfo,
  client: { redirectUri: string; clientName: string; scope?: string },
): Promise<{ clientId: string }> {
  const endpoint = server.registrationEndpoint;
  if (!endpoint) {
    throw new OAuthSetupError(
      'registration_unsupported',
      'The authorization server offers no dynamic registration',
    );
  }
  await guarded(() => http.assertSafeUrl(endpoint));
  let answered: number | undefined;
  const fetchFn: typeof fetch = async (input, init) => {
    const response = await http.oauthFetch(input, init);
    answered = response.status;
    return response;
  };
  const registered = await found(() =>
    registerClientWithSdk(server.issuer, {
      metadata: {
        issuer: server.issuer,
        authorization_endpoint: server.authorizationEndpoint,
        token_endpoint: server.tokenEndpoint,
        registration_endpoint: endpoint,
        response_types_supported: ['code'],
      },
      clientMetadata: {
        redirect_uris: [client.redirectUri],
        client_name: client.clientName,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...(client.scope ? { scope: client.scope } : {}),
      },
      fetchFn,
    }),
  );
  // The SDK refuses a non-2xx answer and one without a client_id; either way nothing was registered.
  const parsed =
    registered.kind === 'found' ? ClientRegistrationResponse.safeParse(registered.value) : undefined;
  if (!parsed?.success) {
    const why =
      answered && (answered < 200 || answered > 299)
        ? `was refused with HTTP ${answered}`
        : 'returned no client';
    throw new OAuthSetupError('registration_failed', `Dynamic registration ${why}`);
  }
  const method = parsed.data.token_endpoint_auth_method;
  if (method !== undefined && method !== 'none') {
    throw new OAuthSetupError(
      'registration_failed',
      'The server registered a confidential client, not a public one',
    );
  }
  return { clientId: parsed.data.client_id };
}
