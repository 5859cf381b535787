import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  ClientSecretBasic,
  type Configuration,
  calculatePKCECodeChallenge,
  discovery,
  fetchUserInfo,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import { listenOnLoopback } from '../../sandbox/http.js';
import { SlackEmulator } from '../../sandbox/slack/emulator.js';
import { OIDC_CODE_LIFETIME_MS } from '../../sandbox/slack/index.js';
import { ManualClock } from '../../src/clock.js';
import type { ListeningServer } from '../../src/http.js';
import { type Page, TestBrowser } from '../support/browser.js';

/** Deputy's callback; never fetched: the browser stops before it. */
const CALLBACK = 'http://127.0.0.1:1/auth/slack/callback';
const atCallback = (url: URL) => url.href.startsWith(CALLBACK);
const USER_ID = 'https://slack.com/user_id';
const TEAM_ID = 'https://slack.com/team_id';
const ENTERPRISE_ID = 'https://slack.com/enterprise_id';

interface Flow {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

async function newFlow(config: Configuration, extra: Record<string, string> = {}): Promise<Flow> {
  const state = randomState();
  const nonce = randomNonce();
  const verifier = randomPKCECodeVerifier();
  const url = buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, state, nonce, verifier };
}

function connect(issuer: string, clientId: string, secret: string, basic = false): Promise<Configuration> {
  return discovery(new URL(issuer), clientId, secret, basic ? ClientSecretBasic(secret) : undefined, {
    execute: [allowInsecureRequests],
  });
}

/** Where the browser was sent back to (the callback it stopped before). */
function callbackOf(page: Page): URL {
  if (!page.stoppedAt) throw new Error(`no redirect to the callback; ended at ${page.url} (${page.status})`);
  return page.stoppedAt;
}

/** The Slack error inside openid-client's refusal of an `{ok:false}` answer. */
async function slackRefusal(call: Promise<unknown>): Promise<{ code?: string; slackError?: unknown }> {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; cause?: { cause?: { body?: { error?: unknown } } } } | undefined;
  if (!error) throw new Error('expected openid-client to refuse');
  return { code: error.code, slackError: error.cause?.cause?.body?.error };
}

describe('Sign in with Slack on the Slack emulator, through the real openid-client', () => {
  let slack: SlackEmulator;
  let config: Configuration;

  beforeAll(async () => {
    slack = await SlackEmulator.start({ oidcRedirectUris: [CALLBACK] });
    config = await connect(slack.oidc.issuer, slack.oidc.clientId, slack.oidc.clientSecret);
  });
  afterAll(() => slack.close());

  /** A fresh browser already signed in to Slack as `userId`. */
  function browserSignedInAs(userId: string): TestBrowser {
    const browser = new TestBrowser({ stopAt: atCallback });
    browser.setCookie(slack.oidc.issuer, slack.oidc.sessionCookieName, slack.oidc.signIn(userId));
    return browser;
  }

  /** Signs in as `userId` on the consent page and redeems the code. */
  async function signIn(userId: string, c = config) {
    const flow = await newFlow(c);
    const browser = browserSignedInAs(userId);
    const consent = await browser.get(flow.url);
    const back = await browser.submitForm(consent, { button: { name: 'user', value: userId } });
    const tokens = await authorizationCodeGrant(c, callbackOf(back), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    return { flow, tokens, callback: callbackOf(back) };
  }

  test('discovery serves Slack’s OpenID configuration with the emulator as issuer, and openid-client accepts it', async () => {
    const issuer = slack.oidc.issuer;
    expect(issuer).toBe(slack.url);
    const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/openid/connect/authorize`,
      token_endpoint: `${issuer}/api/openid.connect.token`,
      userinfo_endpoint: `${issuer}/api/openid.connect.userInfo`,
      jwks_uri: `${issuer}/openid/connect/keys`,
      scopes_supported: ['openid', 'profile', 'email'],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    });
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['sub', USER_ID, TEAM_ID]));
    expect(config.serverMetadata().issuer).toBe(issuer);
  });

  test('without a Slack session the browser gets a sign-in page of the workspace’s people; choosing Alice sets an HttpOnly Lax session cookie and redirects with a code and the state', async () => {
    const flow = await newFlow(config);
    const browser = new TestBrowser({ stopAt: atCallback });
    const page = await browser.get(flow.url);

    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.html).toContain('Alice Archer');
    expect(page.html).toContain('Bob Baker');
    expect(page.html).not.toContain('U_DEPUTY'); // the app's bot user is nobody to sign in as
    expect(page.html).not.toMatch(/\b(src|href)\s*=/i); // no external resources
    expect(browser.cookies(slack.url)).toEqual([]);

    const back = await browser.submitForm(page, { button: { name: 'user', value: 'U_ALICE' } });
    const callback = callbackOf(back);
    expect(callback.searchParams.get('state')).toBe(flow.state);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    expect(back.hops).toEqual([
      { url: `${slack.url}/openid/connect/authorize/decision`, status: 302, location: callback.href },
    ]);
    expect(browser.cookies(slack.url)).toEqual([
      expect.objectContaining({ name: 'slack_session', path: '/', httpOnly: true, sameSite: 'Lax' }),
    ]);

    const tokens = await authorizationCodeGrant(config, callback, {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    expect(tokens.access_token).toMatch(/^xoxp-/);
    expect(tokens.claims()).toMatchObject({
      iss: slack.oidc.issuer,
      aud: slack.oidc.clientId,
      sub: 'U_ALICE',
      nonce: flow.nonce,
      [USER_ID]: 'U_ALICE',
      [TEAM_ID]: slack.teamId,
      name: 'Alice Archer',
      given_name: 'Alice',
      email: 'alice@example.com',
      email_verified: true,
      locale: 'en-US',
    });
    expect(tokens.claims()).not.toHaveProperty(ENTERPRISE_ID);
  });

  test('a browser signed in as Bob (oidc.signIn) gets a consent page “Continue as Bob”, and continuing signs in Bob', async () => {
    const flow = await newFlow(config);
    const browser = browserSignedInAs('U_BOB');
    const consent = await browser.get(flow.url);
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('Continue as Bob');
    expect(consent.html).toContain('Use another account');
    expect(consent.html).not.toContain('Alice Archer');

    const back = await browser.submitForm(consent, { button: { name: 'user', value: 'U_BOB' } });
    const tokens = await authorizationCodeGrant(config, callbackOf(back), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    expect(tokens.claims()?.[USER_ID]).toBe('U_BOB');
  });

  test('“Use another account” shows the sign-in page, and choosing Alice replaces Bob’s session', async () => {
    const flow = await newFlow(config);
    const browser = browserSignedInAs('U_BOB');
    const bobSession = browser.cookie(slack.url, 'slack_session');
    const consent = await browser.get(flow.url);
    const picker = await browser.submitForm(consent, { button: { name: 'action', value: 'switch' } });
    expect(picker.html).toContain('Alice Archer');
    const back = await browser.submitForm(picker, { button: { name: 'user', value: 'U_ALICE' } });
    const tokens = await authorizationCodeGrant(config, callbackOf(back), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    expect(tokens.claims()?.[USER_ID]).toBe('U_ALICE');
    expect(browser.cookie(slack.url, 'slack_session')).not.toBe(bobSession);
  });

  test('the id_token is an RS256 JWT that verifies against the JWKS, with the issuer as iss and the client id as aud', async () => {
    const { tokens } = await signIn('U_ALICE');
    const idToken = tokens.id_token as string;
    const header = decodeProtectedHeader(idToken);
    const jwks = (await (await fetch(`${slack.oidc.issuer}/openid/connect/keys`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const [key] = jwks.keys;
    expect(jwks.keys).toHaveLength(1);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: key?.kid });
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(key).not.toHaveProperty('d');

    const keySet = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string));
    const { payload } = await jwtVerify(idToken, keySet, {
      issuer: slack.oidc.issuer,
      audience: slack.oidc.clientId,
    });
    expect(payload).toMatchObject({ sub: 'U_ALICE', [USER_ID]: 'U_ALICE', [TEAM_ID]: slack.teamId });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(payload.auth_time).toEqual(expect.any(Number));
    expect(payload.at_hash).toEqual(expect.any(String));
  });

  test('openid-client refuses a callback whose state is not the one it sent, before redeeming the code', async () => {
    const flow = await newFlow(config);
    const browser = browserSignedInAs('U_ALICE');
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'user', value: 'U_ALICE' },
    });
    const redemptions = slack.callsTo('openid.connect.token').length;
    await expect(
      authorizationCodeGrant(config, callbackOf(back), {
        expectedState: randomState(),
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.verifier,
      }),
    ).rejects.toMatchObject({
      code: 'OAUTH_INVALID_RESPONSE',
      cause: { message: expect.stringMatching(/"state"/) },
    });
    expect(slack.callsTo('openid.connect.token')).toHaveLength(redemptions);
  });

  test('openid-client refuses an id_token whose nonce is not the one it expects', async () => {
    const flow = await newFlow(config);
    const browser = browserSignedInAs('U_ALICE');
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'user', value: 'U_ALICE' },
    });
    await expect(
      authorizationCodeGrant(config, callbackOf(back), {
        expectedState: flow.state,
        expectedNonce: randomNonce(),
        pkceCodeVerifier: flow.verifier,
      }),
    ).rejects.toMatchObject({ code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' });
  });

  test('a code is single-use: a second redemption is refused with invalid_code and revokes the token the first one got', async () => {
    const { flow, tokens, callback } = await signIn('U_ALICE');
    const replay = await slackRefusal(
      authorizationCodeGrant(config, callback, {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.verifier,
      }),
    );
    expect(replay).toEqual({ code: 'OAUTH_INVALID_RESPONSE', slackError: 'invalid_code' });
    const info = await fetch(`${slack.oidc.issuer}/api/openid.connect.userInfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(await info.json()).toEqual({ ok: false, error: 'invalid_auth' });
  });

  test('a code redeemed with the wrong PKCE verifier is refused', async () => {
    const flow = await newFlow(config);
    const browser = browserSignedInAs('U_ALICE');
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'user', value: 'U_ALICE' },
    });
    const refusal = await slackRefusal(
      authorizationCodeGrant(config, callbackOf(back), {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: randomPKCECodeVerifier(),
      }),
    );
    expect(refusal.slackError).toBe('invalid_code_verifier');
  });

  test('a wrong client secret is refused with bad_client_secret (HTTP 200, ok:false) and openid-client fails', async () => {
    const wrong = await connect(slack.oidc.issuer, slack.oidc.clientId, 'not-the-secret');
    const flow = await newFlow(wrong);
    const browser = browserSignedInAs('U_ALICE');
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'user', value: 'U_ALICE' },
    });
    const refusal = await slackRefusal(
      authorizationCodeGrant(wrong, callbackOf(back), {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.verifier,
      }),
    );
    expect(refusal).toEqual({ code: 'OAUTH_INVALID_RESPONSE', slackError: 'bad_client_secret' });
    const call = slack.callsTo('openid.connect.token').at(-1);
    expect(call).toMatchObject({ status: 200, response: { ok: false, error: 'bad_client_secret' } });
  });

  test('client_secret_basic authenticates the token request as well as client_secret_post', async () => {
    const basic = await connect(slack.oidc.issuer, slack.oidc.clientId, slack.oidc.clientSecret, true);
    const { tokens } = await signIn('U_BOB', basic);
    expect(tokens.claims()?.[USER_ID]).toBe('U_BOB');
  });

  test('an unregistered redirect_uri gets an HTML error page and no redirect, until allowRedirectUri registers it', async () => {
    const elsewhere = 'http://127.0.0.1:1/elsewhere';
    const flow = await newFlow(config, { redirect_uri: elsewhere });
    const browser = browserSignedInAs('U_ALICE');
    const page = await browser.get(flow.url);
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.html).toContain('bad_redirect_uri');
    expect(page.hops).toEqual([{ url: flow.url.href, status: 400 }]);
    expect(page.stoppedAt).toBeUndefined();

    slack.oidc.allowRedirectUri(elsewhere);
    const again = await browser.get(flow.url);
    expect(again.status).toBe(200);
    expect(again.html).toContain('Continue as Alice');
  });

  test('an unknown client_id gets an HTML error page and no redirect', async () => {
    const url = new URL(`${slack.oidc.issuer}/openid/connect/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'nobody',
      scope: 'openid',
      redirect_uri: CALLBACK,
      state: randomState(),
    }).toString();
    const page = await new TestBrowser({ stopAt: atCallback }).get(url);
    expect(page.status).toBe(400);
    expect(page.html).toContain('invalid_client_id');
    expect(page.hops).toHaveLength(1);
  });

  test('Cancel on the sign-in page sends the browser back with error=access_denied and the state, which openid-client reports', async () => {
    const flow = await newFlow(config);
    const browser = new TestBrowser({ stopAt: atCallback });
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'action', value: 'deny' },
    });
    const callback = callbackOf(back);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(flow.state);
    expect(callback.searchParams.has('code')).toBe(false);
    expect(browser.cookies(slack.url)).toEqual([]);
    await expect(
      authorizationCodeGrant(config, callback, { expectedState: flow.state, expectedNonce: flow.nonce }),
    ).rejects.toMatchObject({ error: 'access_denied' });
  });

  test('a decision form can be answered once: posting it again shows an error page and no redirect', async () => {
    const flow = await newFlow(config);
    const browser = browserSignedInAs('U_ALICE');
    const consent = await browser.get(flow.url);
    await browser.submitForm(consent, { button: { name: 'user', value: 'U_ALICE' } });
    const again = await browser.submitForm(consent, { button: { name: 'user', value: 'U_ALICE' } });
    expect(again.status).toBe(400);
    expect(again.stoppedAt).toBeUndefined();
  });

  test('userInfo answers the signed-in person’s claims for the access token, through openid-client', async () => {
    const { tokens } = await signIn('U_BOB');
    const info = await fetchUserInfo(config, tokens.access_token, 'U_BOB');
    expect(info).toMatchObject({
      ok: true,
      sub: 'U_BOB',
      [USER_ID]: 'U_BOB',
      [TEAM_ID]: slack.teamId,
      name: 'Bob Baker',
      email: 'bob@example.com',
    });
    const bot = await fetch(`${slack.oidc.issuer}/api/openid.connect.userInfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${slack.botToken}` },
    });
    expect(await bot.json()).toEqual({ ok: false, error: 'not_allowed_token_type' });
    await expect(fetchUserInfo(config, 'xoxp-not-a-token', 'U_BOB')).rejects.toThrow();
  });

  test('the call log records authorize, token and userInfo calls without the client secret, the code, the session or any token', async () => {
    slack.reset();
    const flow = await newFlow(config);
    const browser = new TestBrowser({ stopAt: atCallback });
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'user', value: 'U_ALICE' },
    });
    const callback = callbackOf(back);
    const tokens = await authorizationCodeGrant(config, callback, {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    await fetchUserInfo(config, tokens.access_token, 'U_ALICE');

    expect(slack.calls.map((c) => c.method)).toEqual([
      'openid.connect.authorize',
      'openid.connect.authorize',
      'openid.connect.token',
      'openid.connect.userInfo',
    ]);
    expect(slack.callsTo('openid.connect.token')[0]).toMatchObject({
      body: { client_id: slack.oidc.clientId, client_secret: '[redacted]', code: '[redacted]' },
      response: { ok: true, access_token: '[redacted]', id_token: '[redacted]', token_type: 'Bearer' },
    });
    const printed = JSON.stringify(slack.calls);
    const secrets = [
      slack.oidc.clientSecret,
      callback.searchParams.get('code') as string,
      tokens.access_token,
      tokens.id_token as string,
      flow.verifier,
      browser.cookie(slack.url, 'slack_session') as string,
    ];
    for (const secret of secrets) expect(printed).not.toContain(secret);
  });
});

describe('Sign in with Slack on an Enterprise Grid workspace', () => {
  let slack: SlackEmulator;

  beforeAll(async () => {
    slack = await SlackEmulator.start({
      enterpriseId: 'E_GRID',
      oidcClientId: '111.222',
      oidcClientSecret: 'grid-secret',
    });
  });
  afterAll(() => slack.close());

  test('the id_token and userInfo carry https://slack.com/enterprise_id beside the team and user ids', async () => {
    expect(slack.oidc.clientId).toBe('111.222');
    const config = await connect(slack.oidc.issuer, '111.222', 'grid-secret');
    const flow = await newFlow(config);
    const browser = new TestBrowser({ stopAt: atCallback });
    browser.setCookie(slack.url, slack.oidc.sessionCookieName, slack.oidc.signIn('U_ADMIN'));
    const back = await browser.submitForm(await browser.get(flow.url), {
      button: { name: 'user', value: 'U_ADMIN' },
    });
    const tokens = await authorizationCodeGrant(config, callbackOf(back), {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    const expected = { [USER_ID]: 'U_ADMIN', [TEAM_ID]: slack.teamId, [ENTERPRISE_ID]: 'E_GRID' };
    expect(tokens.claims()).toMatchObject(expected);
    expect(await fetchUserInfo(config, tokens.access_token, 'U_ADMIN')).toMatchObject(expected);
  });
});

describe('Sign in with Slack on an emulator with a manual clock', () => {
  const clock = new ManualClock(Date.now());
  let slack: SlackEmulator;
  let config: Configuration;

  beforeAll(async () => {
    slack = await SlackEmulator.start({ clock, oidcRedirectUris: [CALLBACK] });
    config = await connect(slack.oidc.issuer, slack.oidc.clientId, slack.oidc.clientSecret);
  });
  afterAll(() => slack.close());

  async function codeFor(userId: string): Promise<{ flow: Flow; callback: URL }> {
    const flow = await newFlow(config);
    const browser = new TestBrowser({ stopAt: atCallback });
    const page = await browser.get(flow.url);
    const back = await browser.submitForm(page, { button: { name: 'user', value: userId } });
    return { flow, callback: callbackOf(back) };
  }

  test('a code not redeemed within five minutes by the emulator’s clock is refused with invalid_code', async () => {
    const { flow, callback } = await codeFor('U_ALICE');
    clock.advance(OIDC_CODE_LIFETIME_MS);
    const refusal = await slackRefusal(
      authorizationCodeGrant(config, callback, {
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        pkceCodeVerifier: flow.verifier,
      }),
    );
    expect(refusal.slackError).toBe('invalid_code');
  });

  test('id_tokens carry real time, so openid-client accepts them however far the emulator’s clock has moved', async () => {
    clock.advance(24 * 60 * 60_000);
    const { flow, callback } = await codeFor('U_BOB');
    const tokens = await authorizationCodeGrant(config, callback, {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.verifier,
    });
    expect(tokens.claims()?.[USER_ID]).toBe('U_BOB');
  });
});

describe('TestBrowser, the cookie-keeping browser these flows use', () => {
  let server: ListeningServer;
  const seen: { path: string; cookie?: string; origin?: string }[] = [];

  beforeAll(async () => {
    server = await listenOnLoopback((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      seen.push({
        path,
        ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}),
        ...(req.headers.origin ? { origin: req.headers.origin } : {}),
      });
      if (path === '/set') {
        res.writeHead(303, {
          location: '/scoped/page',
          'set-cookie': [
            '__Host-flow=abc; Path=/; Secure; HttpOnly; SameSite=Lax',
            '__Host-bad=x; Path=/; Secure; Domain=127.0.0.1',
            'scoped=1; Path=/scoped',
            'gone=1; Path=/; Max-Age=0',
          ],
        });
        return void res.end();
      }
      if (path === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<form method="post" action="/done"><input type="hidden" name="a" value="1&amp;2"><button name="go" value="yes">Go</button></form>',
        );
    });
  });
  afterAll(() => server.close());

  test('keeps __Host- and path-scoped cookies by their rules, follows redirects recording each hop, and submits a form with its hidden inputs and pressed button', async () => {
    const browser = new TestBrowser();
    browser.setCookie(server.url, 'gone', 'old');
    const page = await browser.get(`${server.url}/set`);
    expect(page.hops.map((h) => [h.status, h.location])).toEqual([
      [303, '/scoped/page'],
      [200, undefined],
    ]);
    expect(
      browser
        .cookies(server.url)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['__Host-flow', 'scoped']);
    expect(seen.at(-1)).toMatchObject({ path: '/scoped/page', cookie: 'scoped=1; __Host-flow=abc' });

    await browser.submitForm(page, { button: { name: 'go', value: 'yes' } });
    expect(seen.at(-1)).toEqual({ path: '/done', cookie: '__Host-flow=abc', origin: server.url });
    await expect(browser.submitForm(page, { button: { name: 'go', value: 'no' } })).rejects.toThrow(
      /no button/,
    );
  });

  test('stops before a URL stopAt names, and gives up after ten redirects', async () => {
    const browser = new TestBrowser();
    const stopped = await browser.get(`${server.url}/set`, {
      stopAt: (url) => url.pathname.startsWith('/scoped'),
    });
    expect(stopped.stoppedAt?.pathname).toBe('/scoped/page');
    expect(stopped.hops).toHaveLength(1);
    await expect(browser.get(`${server.url}/loop`)).rejects.toThrow(/more than 10 redirects/);
  });
});
