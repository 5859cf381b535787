import { z } from 'zod';
import {
  type HttpResult,
  type OutboundHttp,
  OutboundRequestError,
  UnsafeUrlError,
} from '../../net/outbound-http.js';
import { type ClientAuth, withClientAuth } from './client-auth.js';

export type TokenExchangeErrorCode =
  | 'timeout'
  | 'provider_error'
  | 'invalid_grant'
  | 'invalid_response'
  | 'unsafe_url';

/** A failed code exchange. The message is a short reason of ours: never the provider's body, never a token. */
export class TokenExchangeError extends Error {
  override readonly name = 'TokenExchangeError';
  constructor(
    readonly code: TokenExchangeErrorCode,
    message: string,
  ) {
    super(`${message} (${code})`);
  }
}

export interface TokenSet {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  expiresAt?: Date;
  scope?: string;
}

export interface ExchangeCodeInput {
  tokenEndpoint: string;
  clientId: string;
  clientAuth: ClientAuth;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  /** RFC 8707; sent whenever the server is an MCP server. */
  resource?: string;
  /** `slack_user`: Slack's oauth.v2.access answer, whose user token is in `authed_user`. */
  responseShape?: 'standard' | 'slack_user';
  now: Date;
}

/**
 * Error codes that mean "this code (or verifier) is no good", across providers: RFC 6749's own,
 * GitHub's (`bad_verification_code`, answered with HTTP 200) and Slack's.
 */
const INVALID_GRANT_ERRORS = new Set([
  'invalid_grant',
  'bad_verification_code',
  'invalid_code',
  'code_already_used',
  'code_expired',
  'invalid_code_verifier',
  'invalid_refresh_token',
]);

const expiresIn = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional();

const StandardTokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  refresh_token: z.string().min(1).nullish(),
  expires_in: expiresIn,
  scope: z.string().optional(),
});

const SlackUserTokenResponse = z.looseObject({
  ok: z.literal(true),
  authed_user: z.looseObject({
    access_token: z.string().min(1),
    token_type: z.string().optional(),
    refresh_token: z.string().min(1).optional(),
    expires_in: expiresIn,
    scope: z.string().optional(),
  }),
});

function providerErrorCode(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null | undefined)?.error;
  return typeof body === 'object' && typeof error === 'string' ? error : undefined;
}

function refused(error: string | undefined, status: number): TokenExchangeError {
  if (error && INVALID_GRANT_ERRORS.has(error)) {
    return new TokenExchangeError('invalid_grant', 'The provider refused the authorization code');
  }
  return new TokenExchangeError('provider_error', `The token endpoint refused the request (HTTP ${status})`);
}

interface TokenFields {
  access_token: string;
  refresh_token?: string | null | undefined;
  expires_in?: number | undefined;
  scope?: string | undefined;
}

function tokenSet(fields: TokenFields, tokenType: string, now: Date): TokenSet {
  const lifetime = fields.expires_in;
  return {
    accessToken: fields.access_token,
    tokenType,
    ...(fields.refresh_token ? { refreshToken: fields.refresh_token } : {}),
    ...(lifetime !== undefined && Number.isFinite(lifetime) && lifetime > 0
      ? { expiresAt: new Date(now.getTime() + lifetime * 1000) }
      : {}),
    ...(fields.scope !== undefined ? { scope: fields.scope } : {}),
  };
}

function standardTokens(result: HttpResult, now: Date): TokenSet {
  const error = providerErrorCode(result.body);
  // GitHub answers errors with HTTP 200, so an `error` field wins over the status.
  if (result.status < 200 || result.status > 299 || error) throw refused(error, result.status);
  const parsed = StandardTokenResponse.safeParse(result.body);
  if (!parsed.success) {
    throw new TokenExchangeError(
      'invalid_response',
      'The token endpoint answered without a usable access token',
    );
  }
  const type = parsed.data.token_type ?? 'Bearer';
  // A DPoP- or MAC-bound token is no use as the bearer credential a vault holds.
  if (type.toLowerCase() !== 'bearer') {
    throw new TokenExchangeError(
      'invalid_response',
      'The provider issued a token that is not a bearer token',
    );
  }
  return tokenSet(parsed.data, type, now);
}

function slackUserTokens(result: HttpResult, now: Date): TokenSet {
  const body = result.body as { ok?: unknown } | undefined;
  if (result.status < 200 || result.status > 299 || body?.ok === false) {
    throw refused(providerErrorCode(result.body), result.status);
  }
  const parsed = SlackUserTokenResponse.safeParse(result.body);
  if (!parsed.success) {
    throw new TokenExchangeError('invalid_response', 'Slack answered without a user token');
  }
  // Slack types user tokens `user`; an xoxp token is presented as a bearer token.
  return tokenSet(parsed.data.authed_user, 'Bearer', now);
}

async function postToTokenEndpoint(
  http: OutboundHttp,
  url: string,
  request: { form: Record<string, string>; headers: Record<string, string> },
): Promise<HttpResult> {
  try {
    await http.assertSafeUrl(url);
    return await http.postForm(url, request.form, { headers: request.headers });
  } catch (error) {
    if (error instanceof UnsafeUrlError) {
      throw new TokenExchangeError('unsafe_url', `The token endpoint URL is not allowed: ${error.reason}`);
    }
    if (error instanceof OutboundRequestError) {
      if (error.kind === 'timeout')
        throw new TokenExchangeError('timeout', 'The token endpoint did not answer in time');
      if (error.kind === 'response_too_large') {
        throw new TokenExchangeError('invalid_response', 'The token endpoint answered with too much data');
      }
      throw new TokenExchangeError('provider_error', 'The token endpoint could not be reached');
    }
    throw error;
  }
}

/** RFC 6749 §4.1.3 with PKCE (RFC 7636) and the RFC 8707 resource. Never retried: a code is single-use. */
export function exchangeCode(http: OutboundHttp, input: ExchangeCodeInput): Promise<TokenSet> {
  return requestTokens(http, input, {
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: input.redirectUri,
    code_verifier: input.codeVerifier,
  });
}

/**
 * RFC 6749 §6: a new access token for a refresh token. Deputy refreshes only tokens it keeps itself
 * (a catalog account's); a person's tokens are refreshed by their vault alone (security R26). A
 * provider that rotates refresh tokens answers a new one, which the caller must keep.
 */
export function refreshAccessToken(
  http: OutboundHttp,
  input: TokenRequestInput & { refreshToken: string },
): Promise<TokenSet> {
  return requestTokens(http, input, { grant_type: 'refresh_token', refresh_token: input.refreshToken });
}

/** What every token request names: where, who asks, for which resource, and how the answer reads. */
type TokenRequestInput = Pick<
  ExchangeCodeInput,
  'tokenEndpoint' | 'clientId' | 'clientAuth' | 'resource' | 'responseShape' | 'now'
>;

/** A grant redeemed at the token endpoint, with the client's authentication and the resource. */
async function requestTokens(
  http: OutboundHttp,
  input: TokenRequestInput,
  grant: Record<string, string>,
): Promise<TokenSet> {
  const request = withClientAuth(input.clientId, input.clientAuth, {
    ...grant,
    ...(input.resource ? { resource: input.resource } : {}),
  });
  const result = await postToTokenEndpoint(http, input.tokenEndpoint, request);
  return input.responseShape === 'slack_user'
    ? slackUserTokens(result, input.now)
    : standardTokens(result, input.now);
}

/**
 * RFC 7009 revocation. True when the provider confirmed (2xx); false on any failure, including a
 * missing endpoint, an unsafe URL or a network error: revocation is best effort and never throws.
 */
export async function revokeToken(
  http: OutboundHttp,
  input: {
    revocationEndpoint: string;
    token: string;
    tokenTypeHint?: 'access_token' | 'refresh_token';
    clientId: string;
    clientAuth: ClientAuth;
  },
): Promise<boolean> {
  try {
    const request = withClientAuth(input.clientId, input.clientAuth, {
      token: input.token,
      ...(input.tokenTypeHint ? { token_type_hint: input.tokenTypeHint } : {}),
    });
    await http.assertSafeUrl(input.revocationEndpoint);
    const result = await http.postForm(input.revocationEndpoint, request.form, { headers: request.headers });
    return result.status >= 200 && result.status <= 299;
  } catch {
    return false;
  }
}
