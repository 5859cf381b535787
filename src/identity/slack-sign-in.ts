import * as oidc from 'openid-client';
import { z } from 'zod';
import type { Principal } from './principal.js';

/**
 * Sign in with Slack (OpenID Connect): how a browser proves which Slack user it belongs to before a connect
 * flow may continue (docs/architecture.md#connect-flows, security R16). The id_token's claims are the only
 * input.
 */
export interface SlackSignIn {
  /** `team`: the workspace the person is asked to sign in to (it matters on Enterprise Grid). */
  authorizationUrl(input: {
    redirectUri: string;
    state: string;
    nonce: string;
    team?: string;
  }): Promise<string>;
  /** Redeems the callback's code and returns the signed-in principal; throws on any mismatch. */
  identify(callbackUrl: URL, expected: { state: string; nonce: string }): Promise<Principal>;
}

export interface SlackSignInSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Plain-http issuers are accepted only here (the sandbox's emulator on loopback). */
  allowInsecureIssuer: boolean;
}

const claimsSchema = z.object({
  'https://slack.com/user_id': z.string().min(1),
  'https://slack.com/team_id': z.string().min(1),
  'https://slack.com/enterprise_id': z.string().min(1).optional(),
});

export function createSlackSignIn(settings: SlackSignInSettings): SlackSignIn {
  let configuration: Promise<oidc.Configuration> | undefined;
  const configure = () => {
    configuration ??= oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        settings.clientSecret,
        undefined,
        settings.allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        configuration = undefined; // try discovery again on the next sign-in
        throw error;
      });
    return configuration;
  };
  return {
    async authorizationUrl({ redirectUri, state, nonce, team }) {
      const config = await configure();
      return oidc
        .buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: 'openid',
          state,
          nonce,
          response_type: 'code',
          ...(team ? { team } : {}),
        })
        .toString();
    },
    async identify(callbackUrl, expected) {
      const config = await configure();
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      const claims = claimsSchema.parse(tokens.claims());
      const enterpriseId = claims['https://slack.com/enterprise_id'];
      return {
        ...(enterpriseId ? { enterpriseId } : {}),
        teamId: claims['https://slack.com/team_id'],
        userId: claims['https://slack.com/user_id'],
      };
    },
  };
}
