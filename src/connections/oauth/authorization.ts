import { createHash, randomBytes } from 'node:crypto';

export { type ClientAuth, withClientAuth } from './client-auth.js';
export {
  type ExchangeCodeInput,
  exchangeCode,
  refreshAccessToken,
  revokeToken,
  TokenExchangeError,
  type TokenExchangeErrorCode,
  type TokenSet,
} from './token-endpoint.js';

/** RFC 7636 PKCE with S256 over a 32-byte random verifier (43 base64url characters). */
export function createPkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Parameters the flow sets itself; `extraParams` may not override them (a downgrade would start there). */
const RESERVED_PARAMS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'resource',
]);

export interface AuthorizationUrlInput {
  authorizationEndpoint: string;
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  scope?: string;
  /** RFC 8707 resource indicator (the MCP server URL). */
  resource?: string;
  /** Provider-specific extras, such as Slack's `user_scope`. */
  extraParams?: Record<string, string>;
}

/**
 * The authorization request (RFC 6749 §4.1.1): always `state` and PKCE S256 together. Query
 * parameters already on the endpoint are kept, but the flow's own parameters replace any of the
 * same name. Only http(s) endpoints: whether http is acceptable is the outbound policy's call
 * (`assertSafeUrl`), which discovery and the flow apply before this.
 */
export function buildAuthorizationUrl(input: AuthorizationUrlInput): string {
  const url = new URL(input.authorizationEndpoint);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error('The authorization endpoint must be an https URL');
  }
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: input.clientId,
    redirect_uri: input.redirectUri,
    state: input.state,
    code_challenge: input.codeChallenge,
    code_challenge_method: 'S256',
    scope: input.scope,
    resource: input.resource,
  };
  for (const name of RESERVED_PARAMS) url.searchParams.delete(name);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  for (const [name, value] of Object.entries(input.extraParams ?? {})) {
    if (RESERVED_PARAMS.has(name)) throw new Error(`extraParams may not set ${name}`);
    url.searchParams.set(name, value);
  }
  return url.href;
}

/**
 * RFC 9207 mix-up defence: an `iss` on the callback must be the issuer the flow started with;
 * a missing `iss` is acceptable only from a server that does not advertise the parameter.
 */
export function checkCallbackIssuer(
  expectedIssuer: string,
  iss: string | undefined,
  issuerParameterSupported: boolean,
): boolean {
  if (iss === undefined) return !issuerParameterSupported;
  return iss === expectedIssuer;
}
