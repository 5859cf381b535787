import { afterEach, describe, expect, test } from '@jest/globals';
import { listenOnLoopback, sendJson } from '../../sandbox/http.js';
import { revokeAtProvider } from '../../src/connections/oauth/revocation.js';
import { type ListeningServer, readBody } from '../../src/http.js';
import { createOutboundHttp } from '../../src/net/outbound-http.js';

/**
 * Issue 14, item 2: each provider's way of ending a token, as the provider's own API takes it, and
 * "confirmed" only on the answer that means revoked. The RFC 7009 and GitHub paths also run end to
 * end against the provider emulator (test/http/disconnect.test.ts).
 */

const http = createOutboundHttp({ allowPrivateNetwork: true });
const servers: ListeningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function provider(answer: (seen: Seen) => { status: number; body?: unknown }) {
  const seen: Seen[] = [];
  const server = await listenOnLoopback(async (req, res) => {
    const request = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: (await readBody(req, 10_000)).toString('utf8'),
    };
    seen.push(request);
    const { status, body } = answer(request);
    if (body === undefined) {
      res.writeHead(status);
      res.end();
    } else sendJson(res, status, body);
  });
  servers.push(server);
  return { url: server.url, seen };
}

describe('slack_auth_revoke', () => {
  test('calls auth.revoke with the token as its bearer, and is confirmed only by ok and revoked', async () => {
    const slack = await provider(() => ({ status: 200, body: { ok: true, revoked: true } }));
    const revoked = await revokeAtProvider(
      http,
      { style: 'slack_auth_revoke', url: `${slack.url}/api/auth.revoke` },
      { clientId: '1.2', clientAuth: { type: 'none' }, tokens: { accessToken: 'xoxp-canary' } },
    );
    expect(revoked).toBe(true);
    expect(slack.seen[0]).toMatchObject({ method: 'POST', path: '/api/auth.revoke' });
    expect(slack.seen[0]?.headers.authorization).toBe('Bearer xoxp-canary');
    // The token is in the header only, never in the body or the URL.
    expect(`${slack.seen[0]?.path}${slack.seen[0]?.body}`).not.toContain('xoxp-canary');
  });

  test('an ok answer that did not revoke (a test call), or an error, is not a confirmation', async () => {
    for (const body of [
      { ok: true, revoked: false },
      { ok: false, error: 'invalid_auth' },
    ]) {
      const slack = await provider(() => ({ status: 200, body }));
      expect(
        await revokeAtProvider(
          http,
          { style: 'slack_auth_revoke', url: `${slack.url}/api/auth.revoke` },
          { clientId: '1.2', clientAuth: { type: 'none' }, tokens: { accessToken: 'xoxp-canary' } },
        ),
      ).toBe(false);
    }
  });
});

describe('github_grant', () => {
  test("deletes the app's grant with the app's Basic credentials and the token in a JSON body", async () => {
    const github = await provider(() => ({ status: 204 }));
    const revoked = await revokeAtProvider(
      http,
      { style: 'github_grant', url: github.url },
      {
        clientId: 'Iv1.abc',
        clientAuth: { type: 'client_secret_post', clientSecret: 'cs-canary' },
        tokens: { accessToken: 'gho_canary' },
      },
    );
    expect(revoked).toBe(true);
    const [seen] = github.seen;
    expect(seen).toMatchObject({ method: 'DELETE', path: '/applications/Iv1.abc/grant' });
    expect(seen?.headers.authorization).toBe(`Basic ${Buffer.from('Iv1.abc:cs-canary').toString('base64')}`);
    expect(JSON.parse(seen?.body ?? '')).toEqual({ access_token: 'gho_canary' });
  });

  test('anything but 204 is not a confirmation, and a public client cannot delete a grant', async () => {
    const github = await provider(() => ({ status: 404, body: { message: 'Not Found' } }));
    const input = {
      clientId: 'Iv1.abc',
      clientAuth: { type: 'client_secret_basic' as const, clientSecret: 'cs' },
      tokens: { accessToken: 'gho_x' },
    };
    expect(await revokeAtProvider(http, { style: 'github_grant', url: github.url }, input)).toBe(false);
    expect(
      await revokeAtProvider(
        http,
        { style: 'github_grant', url: github.url },
        { ...input, clientAuth: { type: 'none' } },
      ),
    ).toBe(false);
    expect(github.seen).toHaveLength(1);
  });
});

describe('rfc7009', () => {
  test('revokes the refresh token first (it ends the grant), then the access token; confirmed only if both were', async () => {
    let calls = 0;
    const as = await provider(() => ({ status: ++calls === 1 ? 200 : 503 }));
    const revoked = await revokeAtProvider(
      http,
      { style: 'rfc7009', url: `${as.url}/revoke` },
      {
        clientId: 'c1',
        clientAuth: { type: 'none' },
        tokens: { accessToken: 'at-canary', refreshToken: 'rt-canary' },
      },
    );
    expect(revoked).toBe(false);
    expect(as.seen.map((s) => new URLSearchParams(s.body).get('token_type_hint'))).toEqual([
      'refresh_token',
      'access_token',
    ]);
  });

  test('an unreachable endpoint is not a confirmation, and nothing throws', async () => {
    expect(
      await revokeAtProvider(
        http,
        { style: 'rfc7009', url: 'http://127.0.0.1:9/revoke' },
        { clientId: 'c1', clientAuth: { type: 'none' }, tokens: { accessToken: 'at' } },
      ),
    ).toBe(false);
  });
});
