import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { Clock } from '../../src/clock.js';
import { mediaType, readBody } from '../../src/http.js';
import { opaqueToken, randomBase58 } from '../../src/ids.js';
import { sendJson } from '../http.js';
import type { CallLog, RecordedCall } from './call-log.js';
import type { FaultQueue } from './faults.js';
import { consentPage, DECISION_PATH, type PageContext, sendErrorPage, signInPage } from './oidc-pages.js';
import { parseApiRequest } from './request.js';
import type { SlackUser, SlackWorkspace } from './workspace.js';

/** Slack's Sign in with Slack endpoints, relative to the issuer. */
export const OIDC_PATHS = {
  discovery: '/.well-known/openid-configuration',
  authorize: '/openid/connect/authorize',
  decision: DECISION_PATH,
  keys: '/openid/connect/keys',
  token: '/api/openid.connect.token',
  userInfo: '/api/openid.connect.userInfo',
} as const;

/** An authorization code is good for one redemption within five minutes. */
export const OIDC_CODE_LIFETIME_MS = 5 * 60_000;
/** A sign-in page left open longer than this must be started again. */
export const OIDC_PENDING_LIFETIME_MS = 10 * 60_000;
/** `exp - iat` of Slack's id_tokens. */
export const ID_TOKEN_LIFETIME_SECONDS = 300;
export const OIDC_SCOPES = ['openid', 'profile', 'email'] as const;
export const DEFAULT_SESSION_COOKIE = 'slack_session';

const REDACTED = '[redacted]';
const CLAIM = (name: string) => `https://slack.com/${name}`;

/** What tests and the sandbox see of the emulator's Sign in with Slack provider. */
export interface SlackOidc {
  /** `http://127.0.0.1:PORT`: what `SLACK_OIDC_ISSUER` points at, and the id_token `iss`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The emulator's own browser-session cookie (on the issuer's origin). */
  readonly sessionCookieName: string;
  /** Registered redirect URIs; while empty, any absolute http(s) URI is accepted. */
  readonly redirectUris: readonly string[];
  /** Registers one more redirect URI (matching is exact). */
  allowRedirectUri(uri: string): void;
  /** A browser session for `userId`: the value of the session cookie to put in a browser's jar. */
  signIn(userId: string): string;
  /** Ends a session made by signIn or the sign-in page. */
  signOut(sessionValue: string): void;
  /** Who the browser that sent this Cookie header is signed in as, if anyone. */
  sessionUser(cookieHeader: string | undefined): string | undefined;
  /** The Set-Cookie value that puts a session (from signIn) in a browser. */
  sessionCookie(sessionValue: string): string;
}

export interface SlackOidcOptions {
  clock: Clock;
  workspace: SlackWorkspace;
  log: CallLog;
  faults: FaultQueue;
  /** The emulator's base URL (known once it listens). */
  baseUrl: () => string;
  /** The emulator's bot token: a valid token, but not one userInfo takes. */
  botToken: string;
  clientId?: string;
  clientSecret?: string;
  redirectUris?: readonly string[];
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

interface Session {
  userId: string;
  /** Seconds: when the person signed in (the id_token's `auth_time`). */
  authTime: number;
}

interface PendingRequest {
  id: string;
  redirectUri: string;
  redirectUriGiven: boolean;
  state?: string;
  nonce?: string;
  scopes: string[];
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  expiresAt: number;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  redirectUriGiven: boolean;
  nonce?: string;
  scopes: string[];
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  userId: string;
  authTime: number;
  expiresAt: number;
  /** Set on redemption: a second redemption revokes the token the first one got. */
  accessToken?: string;
  redeemed: boolean;
}

interface UserGrant {
  userId: string;
  scopes: string[];
}

type Json = Record<string, unknown>;

/**
 * Slack's OpenID Connect provider ("Sign in with Slack") on the emulator's origin: discovery,
 * JWKS, an authorize endpoint with the emulator's own browser session and sign-in/consent pages,
 * `openid.connect.token` and `openid.connect.userInfo`, answered as slack.com answers them (Web
 * API errors are HTTP 200 `{ok:false,error}`). Secrets never reach the call log.
 */
export class SlackOidcProvider implements SlackOidc {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly sessionCookieName = DEFAULT_SESSION_COOKIE;
  private readonly registered: string[];
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly tokens = new Map<string, UserGrant>();
  private signingKey?: Promise<SigningKey>;

  constructor(private readonly options: SlackOidcOptions) {
    this.clientId = options.clientId ?? `${randomInt(1e9, 1e10)}.${randomInt(1e11, 1e12)}`;
    this.clientSecret = options.clientSecret ?? randomBytes(16).toString('hex');
    this.registered = [...(options.redirectUris ?? [])];
  }

  get issuer(): string {
    return this.options.baseUrl();
  }

  get redirectUris(): readonly string[] {
    return [...this.registered];
  }

  allowRedirectUri(uri: string): void {
    if (!isRedirectUri(uri)) throw new Error(`Slack emulator: not a usable redirect URI: ${uri}`);
    if (!this.registered.includes(uri)) this.registered.push(uri);
  }

  signIn(userId: string): string {
    const user = this.signableUser(userId);
    if (!user) throw new Error(`Slack emulator: ${userId} is not a person who can sign in`);
    return this.newSession(user.id);
  }

  signOut(sessionValue: string): void {
    this.sessions.delete(sessionValue);
  }

  sessionUser(cookieHeader: string | undefined): string | undefined {
    return this.sessionFrom(cookieHeader)?.userId;
  }

  sessionCookie(sessionValue: string): string {
    return `${this.sessionCookieName}=${sessionValue}; Path=/; HttpOnly; SameSite=Lax`;
  }

  /** Forgets sessions, sign-in pages, codes and tokens; keeps the client and redirect URIs. */
  resetState(): void {
    this.sessions.clear();
    this.pending.clear();
    this.codes.clear();
    this.tokens.clear();
  }

  /** Answers the request if it is for one of the OIDC paths; false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const method = req.method ?? 'GET';
    const getOrPost = method === 'GET' || method === 'POST';
    switch (url.pathname) {
      case OIDC_PATHS.discovery:
        if (method !== 'GET') return false;
        sendJson(res, 200, this.discoveryDocument(), { 'cache-control': 'public, max-age=3600' });
        return true;
      case OIDC_PATHS.keys:
        if (method !== 'GET') return false;
        sendJson(
          res,
          200,
          { keys: [(await this.key()).publicJwk] },
          { 'cache-control': 'public, max-age=3600' },
        );
        return true;
      case OIDC_PATHS.authorize:
        if (method !== 'GET') return false;
        this.authorize(req, res, url);
        return true;
      case OIDC_PATHS.decision:
        if (method !== 'POST') return false;
        await this.decision(req, res);
        return true;
      case OIDC_PATHS.token:
        if (!getOrPost) return false;
        await this.token(req, res, url);
        return true;
      case OIDC_PATHS.userInfo:
        if (!getOrPost) return false;
        await this.userInfo(req, res, url);
        return true;
      default:
        return false;
    }
  }

  // ---- discovery and keys

  private discoveryDocument(): Json {
    const issuer = this.issuer;
    return {
      issuer,
      authorization_endpoint: `${issuer}${OIDC_PATHS.authorize}`,
      token_endpoint: `${issuer}${OIDC_PATHS.token}`,
      userinfo_endpoint: `${issuer}${OIDC_PATHS.userInfo}`,
      jwks_uri: `${issuer}${OIDC_PATHS.keys}`,
      scopes_supported: [...OIDC_SCOPES],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: [
        'sub',
        'auth_time',
        'iss',
        CLAIM('user_id'),
        CLAIM('team_id'),
        CLAIM('enterprise_id'),
        'name',
        'given_name',
        'family_name',
        'email',
        'email_verified',
        'locale',
      ],
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: true,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    };
  }

  /** The RSA signing key, made on first use (most emulators never sign anyone in). */
  private key(): Promise<SigningKey> {
    this.signingKey ??= (async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      const jwk = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(jwk);
      return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
    })();
    return this.signingKey;
  }

  // ---- authorize: the browser

  private authorize(req: IncomingMessage, res: ServerResponse, url: URL) {
    const now = this.options.clock.now();
    const params = uniqueParams(url.searchParams);
    const recorded: Json = params.ok ? pick(params.values, AUTHORIZE_FIELDS) : {};
    const record = (status: number, response: Json) =>
      this.record('openid.connect.authorize', recorded, status, response);
    if (!params.ok) {
      record(400, { page: 'error', error: 'invalid_request' });
      return sendErrorPage(
        res,
        'Invalid request',
        `The parameter ${params.duplicate} was given more than once.`,
      );
    }
    const p = params.values;
    if (p.get('client_id') !== this.clientId) {
      record(400, { page: 'error', error: 'invalid_client_id' });
      return sendErrorPage(
        res,
        'Something went wrong',
        'This app is not known to Slack (invalid_client_id).',
      );
    }
    const given = p.get('redirect_uri');
    const redirectUri = given ?? (this.registered.length === 1 ? this.registered[0] : undefined);
    const allowed =
      redirectUri !== undefined &&
      isRedirectUri(redirectUri) &&
      (this.registered.length === 0 || this.registered.includes(redirectUri));
    if (!redirectUri || !allowed) {
      record(400, { page: 'error', error: 'bad_redirect_uri' });
      return sendErrorPage(
        res,
        'Something went wrong',
        'The redirect URL does not match one of the app’s redirect URLs (bad_redirect_uri).',
      );
    }
    const state = p.get('state');
    const fail = (error: string, description: string) => {
      record(302, { redirect: stripQuery(redirectUri), error });
      redirectBack(res, redirectUri, { error, error_description: description, state });
    };
    if (p.get('response_type') !== 'code')
      return fail('unsupported_response_type', 'response_type must be code');
    const scopes = [...new Set((p.get('scope') ?? '').split(/[\s,]+/).filter(Boolean))];
    if (!scopes.includes('openid')) return fail('invalid_scope', 'the openid scope is required');
    const unknown = scopes.filter((s) => !(OIDC_SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0) return fail('invalid_scope', `unknown scope: ${unknown.join(' ')}`);
    const challenge = p.get('code_challenge');
    const challengeMethod = p.get('code_challenge_method') ?? 'plain';
    if (challenge && (!/^[A-Za-z0-9\-._~]{43,128}$/.test(challenge) || !isPkceMethod(challengeMethod))) {
      return fail('invalid_request', 'code_challenge or code_challenge_method is invalid');
    }

    const request: PendingRequest = {
      id: opaqueToken(),
      redirectUri,
      redirectUriGiven: given !== undefined,
      scopes,
      expiresAt: now + OIDC_PENDING_LIFETIME_MS,
      ...(state !== undefined ? { state } : {}),
      ...(p.has('nonce') ? { nonce: p.get('nonce') } : {}),
      ...(challenge && isPkceMethod(challengeMethod)
        ? { codeChallenge: challenge, codeChallengeMethod: challengeMethod }
        : {}),
    };
    this.prune(now);
    this.pending.set(request.id, request);
    const session = this.currentSession(req);
    const user = session ? this.signableUser(session.userId) : undefined;
    record(200, { page: user ? 'consent' : 'sign_in', ...(user ? { user: user.id } : {}) });
    if (user) consentPage(res, this.pageContext(request), user);
    else signInPage(res, this.pageContext(request), this.signableUsers());
  }

  /** `POST …/decision`: a person chosen (or confirmed), "Use another account", or Cancel. */
  private async decision(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const now = this.options.clock.now();
    const form =
      mediaType(req) === 'application/x-www-form-urlencoded'
        ? new URLSearchParams((await readBody(req, 64_000)).toString('utf8'))
        : undefined;
    const action = form?.get('action') ?? undefined;
    const userId = form?.get('user') ?? undefined;
    const recorded: Json = {
      ...(form?.has('request') ? { request: REDACTED } : {}),
      ...(action ? { action } : {}),
      ...(userId ? { user: userId } : {}),
    };
    const record = (status: number, response: Json) =>
      this.record('openid.connect.authorize', recorded, status, response);
    const request = this.pending.get(form?.get('request') ?? '');
    if (!request || request.expiresAt <= now) {
      record(400, { page: 'error', error: 'request_expired' });
      return sendErrorPage(res, 'This link has expired', 'Go back to the app and sign in with Slack again.');
    }
    if (action === 'switch') {
      record(200, { page: 'sign_in' });
      return signInPage(res, this.pageContext(request), this.signableUsers());
    }
    if (action === 'deny') {
      this.pending.delete(request.id);
      record(302, { redirect: stripQuery(request.redirectUri), error: 'access_denied' });
      return redirectBack(res, request.redirectUri, { error: 'access_denied', state: request.state });
    }
    const user = userId ? this.signableUser(userId) : undefined;
    if (!user) {
      record(400, { page: 'error', error: 'user_not_found' });
      return sendErrorPage(res, 'Choose an account', 'Pick the account to sign in with.');
    }
    this.pending.delete(request.id);
    const session = this.currentSession(req);
    const headers: Record<string, string> = {};
    let authTime = session?.authTime ?? realSeconds();
    if (session?.userId !== user.id) {
      const value = this.newSession(user.id);
      authTime = realSeconds();
      headers['set-cookie'] = this.sessionCookie(value);
    }
    const code = `${randomInt(1e9, 1e10)}.${randomInt(1e12, 1e13)}.${randomBytes(32).toString('hex')}`;
    this.codes.set(code, {
      clientId: this.clientId,
      redirectUri: request.redirectUri,
      redirectUriGiven: request.redirectUriGiven,
      scopes: request.scopes,
      userId: user.id,
      authTime,
      expiresAt: now + OIDC_CODE_LIFETIME_MS,
      redeemed: false,
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      ...(request.codeChallenge
        ? { codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallengeMethod }
        : {}),
    });
    record(302, { redirect: stripQuery(request.redirectUri), user: user.id });
    redirectBack(res, request.redirectUri, { code, state: request.state }, headers);
  }

  // ---- Web API methods

  private async token(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const now = this.options.clock.now();
    const raw = (await readBody(req)).toString('utf8');
    const parsed = parseApiRequest(req, raw, url, mediaType(req));
    const args = parsed.args;
    const basic = basicCredentials(req.headers.authorization);
    const recorded = redact({ ...args, ...(basic ? { client_id: basic.id, client_secret: REDACTED } : {}) });
    const answer = (body: Json, extra: Partial<RecordedCall> = {}, status = 200) => {
      const safe = body.ok
        ? { ...body, access_token: REDACTED, ...(body.id_token ? { id_token: REDACTED } : {}) }
        : body;
      this.record('openid.connect.token', recorded, status, safe, extra);
      sendJson(res, status, body, { ...API_HEADERS(), 'cache-control': 'no-store', pragma: 'no-cache' });
    };
    if (this.answerFault('openid.connect.token', answer)) return;
    if (parsed.error) return answer({ ok: false, error: parsed.error });

    const clientId = basic?.id ?? str(args.client_id);
    const clientSecret = basic?.secret ?? str(args.client_secret);
    if (!clientId || clientId !== this.clientId) return answer({ ok: false, error: 'invalid_client_id' });
    if (!clientSecret || !safeEqual(clientSecret, this.clientSecret)) {
      return answer({ ok: false, error: 'bad_client_secret' });
    }
    const grantType = str(args.grant_type);
    if (grantType === 'refresh_token') return answer({ ok: false, error: 'invalid_refresh_token' });
    if (grantType !== undefined && grantType !== 'authorization_code') {
      return answer({ ok: false, error: 'invalid_grant_type' });
    }
    const codeValue = str(args.code) ?? '';
    const code = this.codes.get(codeValue);
    if (!code || code.clientId !== clientId || code.expiresAt <= now) {
      return answer({ ok: false, error: 'invalid_code' });
    }
    if (code.redeemed) {
      // A replayed code: refuse it, and take back what the first redemption got (RFC 6749 §4.1.2).
      if (code.accessToken) this.tokens.delete(code.accessToken);
      return answer({ ok: false, error: 'invalid_code' });
    }
    code.redeemed = true;
    const redirectUri = str(args.redirect_uri);
    if ((code.redirectUriGiven || redirectUri !== undefined) && redirectUri !== code.redirectUri) {
      return answer({ ok: false, error: 'bad_redirect_uri' });
    }
    if (code.codeChallenge) {
      const verifier = str(args.code_verifier);
      if (!verifier || !pkceMatches(code.codeChallengeMethod ?? 'plain', code.codeChallenge, verifier)) {
        return answer({ ok: false, error: 'invalid_code_verifier' });
      }
    }
    const user = this.signableUser(code.userId);
    if (!user) return answer({ ok: false, error: 'invalid_code' });

    const accessToken = this.userToken();
    code.accessToken = accessToken;
    this.tokens.set(accessToken, { userId: user.id, scopes: code.scopes });
    const iat = realSeconds();
    const claims: Json = {
      ...(code.nonce !== undefined ? { nonce: code.nonce } : {}),
      at_hash: atHash(accessToken),
      ...this.claims(user, code.scopes),
      auth_time: code.authTime,
    };
    const key = await this.key();
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: key.kid })
      .setIssuer(this.issuer)
      .setSubject(user.id)
      .setAudience(this.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ID_TOKEN_LIFETIME_SECONDS)
      .sign(key.privateKey);
    answer({ ok: true, access_token: accessToken, token_type: 'Bearer', id_token: idToken });
  }

  private async userInfo(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    const parsed = parseApiRequest(req, raw, url, mediaType(req));
    // The token is never recorded: `token` is left out of RecordedCall and the body.
    const answer = (body: Json, extra: Partial<RecordedCall> = {}, status = 200) => {
      this.record('openid.connect.userInfo', parsed.args, status, body, extra);
      sendJson(res, status, body, { ...API_HEADERS(), 'cache-control': 'no-store' });
    };
    if (this.answerFault('openid.connect.userInfo', answer)) return;
    if (parsed.error) return answer({ ok: false, error: parsed.error });
    if (!parsed.token) return answer({ ok: false, error: 'not_authed' });
    if (parsed.token === this.options.botToken) return answer({ ok: false, error: 'not_allowed_token_type' });
    const grant = this.tokens.get(parsed.token);
    const user = grant ? this.signableUser(grant.userId) : undefined;
    if (!grant || !user) return answer({ ok: false, error: 'invalid_auth' });
    answer({ ok: true, ...this.claims(user, grant.scopes) });
  }

  /** Answers an injected failure the way handleApi does; true when one was taken. */
  private answerFault(
    method: string,
    answer: (body: Json, extra: Partial<RecordedCall>, status: number) => void,
  ): boolean {
    const fault = this.options.faults.take(method);
    if (!fault) return false;
    const status = fault.httpStatus ?? (fault.error === 'ratelimited' ? 429 : 200);
    answer({ ok: false, error: fault.error }, { injected: true }, status);
    return true;
  }

  // ---- identity

  /** The claims Slack puts in both the id_token and userInfo, by granted scope. */
  private claims(user: SlackUser, scopes: readonly string[]): Json {
    const ws = this.options.workspace.config;
    const enterpriseId = user.enterpriseId ?? ws.enterpriseId;
    const [given = '', ...family] = user.realName.split(' ');
    const verifiedAt = realSeconds();
    return {
      sub: user.id,
      [CLAIM('user_id')]: user.id,
      [CLAIM('team_id')]: user.teamId,
      ...(enterpriseId ? { [CLAIM('enterprise_id')]: enterpriseId } : {}),
      ...(scopes.includes('email')
        ? {
            email: user.email ?? `${user.name}@example.com`,
            email_verified: true,
            date_email_verified: verifiedAt,
          }
        : {}),
      ...(scopes.includes('profile')
        ? {
            name: user.realName,
            given_name: given,
            family_name: family.join(' '),
            locale: 'en-US',
            [CLAIM('team_name')]: ws.teamName,
            [CLAIM('team_domain')]: ws.teamDomain,
          }
        : {}),
    };
  }

  private userToken(): string {
    const digits = () => String(randomInt(1e9, 1e10)) + String(randomInt(10, 100));
    return `xoxp-${digits()}-${digits()}-${digits()}-${randomBytes(16).toString('hex')}`;
  }

  private signableUser(id: string): SlackUser | undefined {
    const user = this.options.workspace.findUser(id);
    return user && !user.isBot && !user.deleted && user.id !== this.options.workspace.config.botUserId
      ? user
      : undefined;
  }

  private signableUsers(): SlackUser[] {
    return this.options.workspace.users.filter((u) => this.signableUser(u.id));
  }

  private newSession(userId: string): string {
    const value = randomBase58(32);
    this.sessions.set(value, { userId, authTime: realSeconds() });
    return value;
  }

  private currentSession(req: IncomingMessage): Session | undefined {
    return this.sessionFrom(req.headers.cookie);
  }

  private sessionFrom(cookieHeader: string | undefined): Session | undefined {
    const value = readCookie(cookieHeader, this.sessionCookieName);
    return value ? this.sessions.get(value) : undefined;
  }

  private pageContext(request: PendingRequest): PageContext {
    const ws = this.options.workspace.config;
    return {
      requestId: request.id,
      appName: ws.botName.charAt(0).toUpperCase() + ws.botName.slice(1),
      teamName: ws.teamName,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
    };
  }

  private prune(now: number): void {
    for (const [id, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(id);
    for (const [id, c] of this.codes) if (c.expiresAt <= now) this.codes.delete(id);
  }

  private record(
    method: string,
    body: Json,
    status: number,
    response: Json,
    extra: Partial<RecordedCall> = {},
  ) {
    this.options.log.record({ method, body, at: this.options.clock.now(), status, response, ...extra });
  }
}

// ---- helpers

/**
 * id_token times (`iat`, `exp`, `auth_time`) are real time, not the emulator's clock: the relying
 * party (openid-client) checks them against its own clock, as Bolt checks request timestamps. Codes,
 * sign-in pages and the call log follow the emulator's clock, so a test can expire a code.
 */
function realSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const AUTHORIZE_FIELDS = [
  'response_type',
  'client_id',
  'scope',
  'redirect_uri',
  'state',
  'nonce',
  'team',
  'code_challenge_method',
];

const API_HEADERS = (): Record<string, string> => ({ 'x-slack-req-id': randomBytes(16).toString('hex') });

/** Fields whose values are secrets: recorded as `[redacted]`. */
const SECRET_FIELDS = ['client_secret', 'code', 'code_verifier', 'refresh_token'];

function redact(args: Json): Json {
  const out: Json = { ...args };
  for (const field of SECRET_FIELDS) if (out[field] !== undefined) out[field] = REDACTED;
  return out;
}

function pick(values: ReadonlyMap<string, string>, fields: readonly string[]): Json {
  return Object.fromEntries(fields.filter((f) => values.has(f)).map((f) => [f, values.get(f)]));
}

type ParsedParams = { ok: true; values: ReadonlyMap<string, string> } | { ok: false; duplicate: string };

/** OAuth parameters appear at most once; an empty one counts as absent (RFC 6749 §3.1). */
function uniqueParams(search: URLSearchParams): ParsedParams {
  const values = new Map<string, string>();
  for (const [name, value] of search) {
    if (value === '') continue;
    if (values.has(name)) return { ok: false, duplicate: name };
    values.set(name, value);
  }
  return { ok: true, values };
}

function isRedirectUri(uri: string): boolean {
  try {
    const url = new URL(uri);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hash === '';
  } catch {
    return false;
  }
}

function isPkceMethod(method: string): method is 'S256' | 'plain' {
  return method === 'S256' || method === 'plain';
}

function pkceMatches(method: 'S256' | 'plain', challenge: string, verifier: string): boolean {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  const derived = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return safeEqual(derived, challenge);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** OIDC Core §3.1.3.6: the left half of SHA-256 of the access token, base64url. */
function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const encoded = /^Basic\s+(\S+)$/i.exec(header ?? '')?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function stripQuery(uri: string): string {
  const url = new URL(uri);
  return `${url.origin}${url.pathname}`;
}

/** Back to the app with the authorization response in the query (no `iss`: Slack sends none). */
function redirectBack(
  res: ServerResponse,
  redirectUri: string,
  params: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): void {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) target.searchParams.set(name, value);
  res.writeHead(302, { location: target.href, 'cache-control': 'no-store', ...headers });
  res.end();
}
