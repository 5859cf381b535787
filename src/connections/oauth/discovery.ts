import {
  AuthorizationServerMetadata,
  ClientRegistrationResponse,
  ProtectedResourceMetadata,
} from './metadata-schemas.js';
import { type HttpResult, type OutboundHttp, OutboundRequestError, UnsafeUrlError } from './outbound-http.js';
import { sameResource, wellKnownUrl } from './resource-url.js';

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

/** GET `url` as JSON; undefined when it is not there (non-200, not JSON, or the network failed). */
async function fetchMetadataDocument(http: OutboundHttp, url: string): Promise<unknown> {
  await guarded(() => http.assertSafeUrl(url));
  let result: HttpResult;
  try {
    result = await guarded(() => http.getJson(url));
  } catch (error) {
    if (error instanceof OutboundRequestError) return undefined;
    throw error;
  }
  return result.status === 200 && typeof result.body === 'object' && result.body !== null
    ? result.body
    : undefined;
}

type Parsed<T> = { kind: 'found'; value: T } | { kind: 'invalid' } | { kind: 'absent' };

/** The first candidate that parses; a JSON document that does not parse is remembered as invalid. */
async function firstValidDocument<T>(
  http: OutboundHttp,
  candidates: readonly string[],
  parse: (body: unknown) => { success: true; data: T } | { success: false },
): Promise<Parsed<T>> {
  let sawInvalid = false;
  for (const url of new Set(candidates)) {
    const body = await fetchMetadataDocument(http, url);
    if (body === undefined) continue;
    const parsed = parse(body);
    if (parsed.success) return { kind: 'found', value: parsed.data };
    sawInvalid = true;
  }
  return sawInvalid ? { kind: 'invalid' } : { kind: 'absent' };
}

/** RFC 9728 §5.1: the `resource_metadata` URL an MCP server names in its 401 challenge. */
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
      http.postJson(mcpServerUrl, initialize, { headers: { accept: 'application/json, text/event-stream' } }),
    );
    if (result.status !== 401) return undefined;
    const named = resourceMetadataFromChallenge(result.headers['www-authenticate']);
    return named && URL.canParse(named, mcpServerUrl) ? new URL(named, mcpServerUrl).href : undefined;
  } catch (error) {
    if (error instanceof OutboundRequestError) return undefined;
    throw error;
  }
}

async function protectedResourceMetadata(
  http: OutboundHttp,
  mcpServerUrl: string,
): Promise<ProtectedResourceMetadata> {
  const parse = (body: unknown) => ProtectedResourceMetadata.safeParse(body);
  const wellKnown = [
    wellKnownUrl(mcpServerUrl, 'oauth-protected-resource'),
    `${new URL(mcpServerUrl).origin}/.well-known/oauth-protected-resource`,
  ];
  let found = await firstValidDocument(http, wellKnown, parse);
  if (found.kind !== 'found') {
    const named = await challengeMetadataUrl(http, mcpServerUrl);
    const fromChallenge = named ? await firstValidDocument(http, [named], parse) : found;
    if (fromChallenge.kind !== 'absent') found = fromChallenge;
  }
  if (found.kind === 'found') return found.value;
  if (found.kind === 'invalid') {
    throw new OAuthSetupError(
      'invalid_metadata',
      'The MCP server published unreadable protected-resource metadata',
    );
  }
  throw new OAuthSetupError(
    'metadata_unavailable',
    'The MCP server publishes no protected-resource metadata',
  );
}

async function authorizationServerMetadata(
  http: OutboundHttp,
  issuer: string,
): Promise<AuthorizationServerMetadata> {
  const candidates = [
    wellKnownUrl(issuer, 'oauth-authorization-server'),
    wellKnownUrl(issuer, 'openid-configuration'),
    `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
  ];
  const found = await firstValidDocument(http, candidates, (body) =>
    AuthorizationServerMetadata.safeParse(body),
  );
  if (found.kind === 'invalid') {
    throw new OAuthSetupError('invalid_metadata', 'The authorization server published unreadable metadata');
  }
  if (found.kind === 'absent') {
    throw new OAuthSetupError('metadata_unavailable', 'The authorization server publishes no metadata');
  }
  return found.value;
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
  const metadata = {
    redirect_uris: [client.redirectUri],
    client_name: client.clientName,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(client.scope ? { scope: client.scope } : {}),
  };
  let result: HttpResult;
  try {
    result = await guarded(async () => {
      await http.assertSafeUrl(endpoint);
      return http.postJson(endpoint, metadata);
    });
  } catch (error) {
    if (error instanceof OutboundRequestError) {
      throw new OAuthSetupError('registration_failed', `Dynamic registration failed: ${error.kind}`);
    }
    throw error;
  }
  if (result.status < 200 || result.status > 299) {
    throw new OAuthSetupError(
      'registration_failed',
      `Dynamic registration was refused with HTTP ${result.status}`,
    );
  }
  const parsed = ClientRegistrationResponse.safeParse(result.body);
  if (!parsed.success) {
    throw new OAuthSetupError('registration_failed', 'Dynamic registration returned no client_id');
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
