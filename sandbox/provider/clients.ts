import type { IncomingMessage, ServerResponse } from 'node:http';
import { OAuthClientMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { mediaType, readBody } from '../../src/http.js';
import { sendJson } from '../http.js';
import type { ClientAuthMethod, ProviderState, RegisteredClient } from './state.js';
import { type Params, safeEqual, sendOAuthError } from './wire.js';

const AUTH_METHODS: readonly ClientAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
const GRANT_TYPES = ['authorization_code', 'refresh_token'];

/** A GitHub/Slack-style app registered out of band, with its secret. */
export interface PreRegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: readonly string[];
  client_name?: string;
  token_endpoint_auth_method?: ClientAuthMethod;
  scope?: string;
}

export class ClientMetadataError extends Error {
  constructor(
    readonly code: 'invalid_redirect_uri' | 'invalid_client_metadata',
    message: string,
  ) {
    super(message);
  }
}

function checkRedirectUris(uris: readonly string[]): void {
  if (uris.length === 0)
    throw new ClientMetadataError('invalid_redirect_uri', 'redirect_uris must not be empty');
  for (const uri of uris) {
    const parsed = URL.canParse(uri) ? new URL(uri) : undefined;
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      throw new ClientMetadataError('invalid_redirect_uri', `redirect_uri must be an http(s) URL: ${uri}`);
    }
    if (parsed.hash !== '' || uri.includes('#')) {
      throw new ClientMetadataError('invalid_redirect_uri', `redirect_uri must not have a fragment: ${uri}`);
    }
  }
}

function checkSubset(field: string, values: readonly string[], allowed: readonly string[]): void {
  const unknown = values.filter((v) => !allowed.includes(v));
  if (unknown.length > 0) {
    throw new ClientMetadataError('invalid_client_metadata', `unsupported ${field}: ${unknown.join(', ')}`);
  }
}

/** Adds a pre-registered client. Throws on invalid metadata or a taken client_id. */
export function addPreRegisteredClient(state: ProviderState, input: PreRegisteredClient): RegisteredClient {
  if (state.clients.has(input.client_id)) throw new Error(`client ${input.client_id} is already registered`);
  checkRedirectUris(input.redirect_uris);
  const method = input.token_endpoint_auth_method ?? (input.client_secret ? 'client_secret_basic' : 'none');
  if ((method === 'none') !== (input.client_secret === undefined)) {
    throw new Error('a client with a secret authenticates with it; a public client (method none) has none');
  }
  const client: RegisteredClient = {
    client_id: input.client_id,
    ...(input.client_secret ? { client_secret: input.client_secret, client_secret_expires_at: 0 } : {}),
    client_id_issued_at: Math.floor(state.clock.now() / 1000),
    redirect_uris: [...input.redirect_uris],
    token_endpoint_auth_method: method,
    grant_types: GRANT_TYPES,
    response_types: ['code'],
    ...(input.client_name ? { client_name: input.client_name } : {}),
    ...(input.scope ? { scope: input.scope } : {}),
    dynamic: false,
  };
  state.clients.set(client.client_id, client);
  return client;
}

/** RFC 7591 §3: `POST /register`. */
export async function handleRegister(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
): Promise<void> {
  const at = state.clock.now();
  const mode = state.behaviour.registration;
  if (mode === 'absent') return sendJson(res, 404, { error: 'not_found' });
  if (mode === 'forbidden') {
    state.records.registrations.push({ redirectUris: [], outcome: 'access_denied', at });
    return sendOAuthError(res, 403, 'access_denied', 'Dynamic client registration is not available');
  }
  let body: unknown;
  try {
    if (mediaType(req) !== 'application/json') throw new Error('expected application/json');
    body = JSON.parse((await readBody(req, 64_000)).toString('utf8'));
  } catch {
    state.records.registrations.push({ redirectUris: [], outcome: 'invalid_client_metadata', at });
    return sendOAuthError(res, 400, 'invalid_client_metadata', 'The body must be a JSON object');
  }
  const parsed = OAuthClientMetadataSchema.safeParse(body);
  if (!parsed.success) {
    const badUri = parsed.error.issues.some((i) => i.path[0] === 'redirect_uris' && i.path.length > 1);
    const code = badUri ? 'invalid_redirect_uri' : 'invalid_client_metadata';
    state.records.registrations.push({ redirectUris: [], outcome: code, at });
    return sendOAuthError(res, 400, code, parsed.error.issues.map((i) => i.message).join('; '));
  }
  const meta = parsed.data;
  try {
    checkRedirectUris(meta.redirect_uris);
    // RFC 7591 §2 default; a public client must ask for `none`.
    const method = (meta.token_endpoint_auth_method ?? 'client_secret_basic') as ClientAuthMethod;
    checkSubset('token_endpoint_auth_method', [method], AUTH_METHODS);
    // Lenient default (RFC 7591 says authorization_code only): most MCP servers allow refresh anyway.
    const grantTypes = meta.grant_types ?? GRANT_TYPES;
    checkSubset('grant_types', grantTypes, GRANT_TYPES);
    const responseTypes = meta.response_types ?? ['code'];
    checkSubset('response_types', responseTypes, ['code']);
    const secret = method === 'none' ? undefined : state.secret('cs');
    const client: RegisteredClient = {
      client_id: state.ids.next('client'),
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
      client_id_issued_at: Math.floor(at / 1000),
      redirect_uris: meta.redirect_uris,
      token_endpoint_auth_method: method,
      grant_types: grantTypes,
      response_types: responseTypes,
      ...(meta.client_name ? { client_name: meta.client_name } : {}),
      ...(meta.scope ? { scope: meta.scope } : {}),
      dynamic: true,
    };
    state.clients.set(client.client_id, client);
    state.records.registrations.push({
      clientId: client.client_id,
      ...(client.client_name ? { clientName: client.client_name } : {}),
      redirectUris: client.redirect_uris,
      outcome: 'registered',
      at,
    });
    const { dynamic: _dynamic, ...wire } = client;
    sendJson(res, 201, { ...meta, ...wire }, { 'cache-control': 'no-store' });
  } catch (error) {
    if (!(error instanceof ClientMetadataError)) throw error;
    state.records.registrations.push({ redirectUris: meta.redirect_uris, outcome: error.code, at });
    sendOAuthError(res, 400, error.code, error.message);
  }
}

export type ClientAuthOutcome =
  | { ok: true; client: RegisteredClient; method: ClientAuthMethod }
  | {
      ok: false;
      status: 400 | 401;
      error: 'invalid_client' | 'invalid_request';
      description: string;
      clientId?: string;
      usedBasic: boolean;
    };

/** RFC 6749 §2.3.1 says to form-decode Basic credentials; the MCP SDK sends them raw. Both decode alike. */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return text;
  }
}

export function basicCredentials(
  req: IncomingMessage,
): { id: string; secret: string } | 'malformed' | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return 'malformed';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/**
 * Client authentication at the token and revocation endpoints. A confidential client proves its
 * secret by Basic or in the body (real providers take either); a public client sends only its id.
 */
export function authenticateClient(
  req: IncomingMessage,
  params: Params,
  state: ProviderState,
): ClientAuthOutcome {
  const basic = basicCredentials(req);
  const usedBasic = basic !== undefined;
  const fail = (
    status: 400 | 401,
    error: 'invalid_client' | 'invalid_request',
    description: string,
    clientId?: string,
  ) => ({ ok: false, status, error, description, usedBasic, ...(clientId ? { clientId } : {}) }) as const;
  if (basic === 'malformed') return fail(401, 'invalid_client', 'Malformed Basic credentials');
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (basic && bodySecret !== undefined)
    return fail(400, 'invalid_request', 'Use one client authentication method');
  if (basic && bodyId !== undefined && bodyId !== basic.id) {
    return fail(400, 'invalid_request', 'client_id differs from the authenticated client');
  }
  const clientId = basic?.id ?? bodyId;
  if (!clientId) return fail(401, 'invalid_client', 'Client authentication is required');
  const client = state.clients.get(clientId);
  if (!client) return fail(401, 'invalid_client', 'Unknown client', clientId);
  const method: ClientAuthMethod = basic
    ? 'client_secret_basic'
    : bodySecret !== undefined
      ? 'client_secret_post'
      : 'none';
  const presented = basic?.secret ?? bodySecret;
  if (client.client_secret === undefined) {
    if (method !== 'none')
      return fail(401, 'invalid_client', 'This is a public client; it has no secret', clientId);
  } else if (presented === undefined || !safeEqual(presented, client.client_secret)) {
    return fail(401, 'invalid_client', 'Client authentication failed', clientId);
  }
  return { ok: true, client, method };
}

export function sendClientAuthError(
  res: ServerResponse,
  outcome: Extract<ClientAuthOutcome, { ok: false }>,
): void {
  const headers: Record<string, string> =
    outcome.status === 401 && outcome.usedBasic ? { 'www-authenticate': 'Basic realm="token"' } : {};
  sendOAuthError(res, outcome.status, outcome.error, outcome.description, headers);
}
