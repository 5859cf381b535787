import type { OutboundHttp } from '../../net/outbound-http.js';
import type { ClientAuth } from './client-auth.js';
import { revokeToken } from './token-endpoint.js';

/**
 * How a provider ends a token Deputy obtained: RFC 7009 where the authorization server has a
 * revocation endpoint, or the provider's own API where it has one instead.
 * - `rfc7009`: `url` is the revocation endpoint; the refresh token goes first, since revoking it
 *   ends the whole grant (§2.1), then the access token.
 * - `github_grant`: `url` is the REST API base; `DELETE /applications/{client_id}/grant` with the
 *   app's Basic credentials deletes the grant and every token of it.
 * - `slack_auth_revoke`: `url` is `auth.revoke`, called with the token itself.
 */
export type RevocationStyle = 'rfc7009' | 'github_grant' | 'slack_auth_revoke';

export interface RevocationEndpoint {
  style: RevocationStyle;
  url: string;
}

/**
 * How long after revoking a Slack user token itself Deputy takes Slack's `tokens_revoked` for that
 * person as its own doing (the event follows within seconds).
 */
export const SELF_REVOCATION_WINDOW_MS = 10 * 60_000;

export interface RevocableTokens {
  accessToken: string;
  refreshToken?: string;
}

/**
 * Asks the provider to end the tokens. True only when it confirmed; false on any refusal or
 * failure (never throws): revocation is best effort, and the caller says so when it fails.
 */
export async function revokeAtProvider(
  http: OutboundHttp,
  endpoint: RevocationEndpoint,
  input: { clientId: string; clientAuth: ClientAuth; tokens: RevocableTokens },
): Promise<boolean> {
  const { tokens } = input;
  try {
    switch (endpoint.style) {
      case 'rfc7009': {
        let confirmed = true;
        for (const [token, hint] of [
          [tokens.refreshToken, 'refresh_token'],
          [tokens.accessToken, 'access_token'],
        ] as const) {
          if (!token) continue;
          confirmed =
            (await revokeToken(http, {
              revocationEndpoint: endpoint.url,
              token,
              tokenTypeHint: hint,
              clientId: input.clientId,
              clientAuth: input.clientAuth,
            })) && confirmed;
        }
        return confirmed;
      }
      case 'github_grant': {
        if (input.clientAuth.type === 'none') return false;
        const basic = Buffer.from(`${input.clientId}:${input.clientAuth.clientSecret}`).toString('base64');
        const url = `${endpoint.url.replace(/\/+$/, '')}/applications/${encodeURIComponent(input.clientId)}/grant`;
        await http.assertSafeUrl(url);
        const result = await http.sendJson(
          'DELETE',
          url,
          { access_token: tokens.accessToken },
          {
            headers: {
              authorization: `Basic ${basic}`,
              accept: 'application/vnd.github+json',
              'x-github-api-version': '2022-11-28',
            },
          },
        );
        return result.status === 204;
      }
      case 'slack_auth_revoke': {
        await http.assertSafeUrl(endpoint.url);
        const result = await http.postForm(
          endpoint.url,
          {},
          { headers: { authorization: `Bearer ${tokens.accessToken}` } },
        );
        const body = result.body as { ok?: unknown; revoked?: unknown } | undefined;
        return result.status === 200 && body?.ok === true && body.revoked === true;
      }
    }
  } catch {
    return false;
  }
}
