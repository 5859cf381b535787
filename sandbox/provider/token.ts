import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateClient, sendClientAuthError } from './clients.js';
import type { Grant, ProviderState, RegisteredClient, TokenRequestRecord } from './state.js';
import { type Params, pkceMatches, readForm, sendNoStoreJson, sendOAuthError, uniqueParams } from './wire.js';

type Outcome =
  | { ok: true; grant: Grant; scope: readonly string[] }
  | { ok: false; error: string; description: string };

const deny = (error: string, description: string): Outcome => ({ ok: false, error, description });

/**
 * `POST /token` (RFC 6749 §3.2): authorization_code with PKCE, and refresh_token with rotation.
 * `wait` pauses for the configured delay and answers false if the emulator closes meanwhile.
 */
export async function handleToken(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
  wait: (ms: number) => Promise<boolean>,
): Promise<void> {
  const at = state.clock.now();
  const form = await readForm(req);
  const delay = state.behaviour.tokenDelayMs;
  const delayAfterRedeem = state.behaviour.tokenDelayAfterRedeem;
  if (delay > 0 && !delayAfterRedeem && !(await wait(delay))) return;
  const record = (fields: Omit<TokenRequestRecord, 'at' | 'codeVerifierPresent'>) =>
    state.records.tokenRequests.push({
      ...fields,
      codeVerifierPresent: form?.has('code_verifier') ?? false,
      at,
    });
  const parsed = form ? uniqueParams(form) : undefined;
  if (!parsed?.ok) {
    record({ outcome: 'invalid_request' });
    const why = parsed ? `${parsed.duplicate} was given more than once` : 'expected a form-encoded body';
    return sendOAuthError(res, 400, 'invalid_request', why);
  }
  const p = parsed.params;
  const grantType = p.get('grant_type');
  const resource = p.get('resource');
  const common = { ...(grantType ? { grantType } : {}), ...(resource ? { resource } : {}) };
  const auth = authenticateClient(req, p, state);
  if (!auth.ok) {
    record({ ...common, ...(auth.clientId ? { clientId: auth.clientId } : {}), outcome: auth.error });
    return sendClientAuthError(res, auth);
  }
  const client = auth.client;
  const fields = { ...common, clientId: client.client_id, clientAuth: auth.method };
  const failure = state.behaviour.tokenEndpoint;
  if (failure !== 'ok') {
    record({ ...fields, outcome: failure });
    const description =
      failure === 'server_error' ? 'The token service is unavailable' : 'The grant is invalid';
    return sendOAuthError(res, failure === 'server_error' ? 500 : 400, failure, description);
  }
  let outcome: Outcome;
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    outcome = deny('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
  } else if (!client.grant_types.includes(grantType)) {
    outcome = deny('unauthorized_client', `This client may not use ${grantType}`);
  } else {
    outcome = grantType === 'authorization_code' ? redeemCode(p, client, state) : refresh(p, client, state);
  }
  if (!outcome.ok) {
    record({ ...fields, outcome: outcome.error });
    return sendOAuthError(res, 400, outcome.error, outcome.description);
  }
  const tokens = state.issueTokens(outcome.grant, outcome.scope);
  record({ ...fields, accountId: outcome.grant.accountId, outcome: 'issued' });
  if (delay > 0 && delayAfterRedeem && !(await wait(delay))) return;
  sendNoStoreJson(res, 200, {
    access_token: tokens.access_token,
    token_type: 'Bearer',
    expires_in: tokens.expires_in,
    refresh_token: tokens.refresh_token,
    scope: outcome.scope.join(' '),
  });
}

function redeemCode(p: Params, client: RegisteredClient, state: ProviderState): Outcome {
  const code = state.codes.get(p.get('code') ?? '');
  if (!code) return deny('invalid_grant', 'Unknown authorization code');
  if (code.redeemed) {
    // RFC 6749 §4.1.2: a replayed code revokes what it already bought.
    const grant = code.grantId ? state.grants.get(code.grantId) : undefined;
    if (grant) grant.revoked = true;
    return deny('invalid_grant', 'The authorization code was already used');
  }
  // Every attempt burns the code, so a wrong verifier cannot be retried.
  code.redeemed = true;
  if (code.clientId !== client.client_id)
    return deny('invalid_grant', 'The code was issued to another client');
  if (code.expiresAt <= state.clock.now()) return deny('invalid_grant', 'The authorization code has expired');
  const redirectUri = p.get('redirect_uri');
  if ((code.redirectUriGiven || redirectUri !== undefined) && redirectUri !== code.redirectUri) {
    return deny('invalid_grant', 'redirect_uri does not match the authorization request');
  }
  const verifier = p.get('code_verifier');
  if (!verifier) return deny('invalid_request', 'code_verifier is required');
  if (!pkceMatches(code.codeChallengeMethod, code.codeChallenge, verifier)) {
    return deny('invalid_grant', 'code_verifier does not match the code_challenge');
  }
  const audience = code.resource ?? state.config.mcpUrl;
  const resource = p.get('resource');
  if (resource !== undefined && resource !== audience) {
    return deny('invalid_target', 'resource does not match the authorization request');
  }
  const grant: Grant = {
    id: state.ids.next('grant'),
    clientId: client.client_id,
    accountId: code.accountId,
    scope: code.scope,
    resource: audience,
    revoked: false,
  };
  state.grants.set(grant.id, grant);
  code.grantId = grant.id;
  return { ok: true, grant, scope: grant.scope };
}

function refresh(p: Params, client: RegisteredClient, state: ProviderState): Outcome {
  const token = state.refreshTokens.get(p.get('refresh_token') ?? '');
  const grant = token ? state.grants.get(token.grantId) : undefined;
  if (!token || !grant) return deny('invalid_grant', 'Unknown refresh token');
  if (grant.clientId !== client.client_id)
    return deny('invalid_grant', 'The refresh token belongs to another client');
  if (grant.revoked) return deny('invalid_grant', 'The grant has been revoked');
  if (token.rotated) {
    // Reuse of a rotated refresh token means two holders: revoke the family (OAuth 2.1 §4.3.1).
    grant.revoked = true;
    return deny('invalid_grant', 'The refresh token was already used');
  }
  const requested = p.get('scope')?.split(' ').filter(Boolean);
  if (requested?.some((s) => !grant.scope.includes(s))) {
    return deny('invalid_scope', 'A refresh cannot widen the granted scope');
  }
  const resource = p.get('resource');
  if (resource !== undefined && resource !== grant.resource) {
    return deny('invalid_target', 'resource does not match the grant');
  }
  token.rotated = true;
  return { ok: true, grant, scope: requested ?? grant.scope };
}
