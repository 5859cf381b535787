import type { IncomingMessage, ServerResponse } from 'node:http';
import { mediaType, readBody } from '../../src/http.js';
import { sendJson } from '../http.js';
import { authenticateClient, basicCredentials, sendClientAuthError } from './clients.js';
import type { ProviderState, RevocationRecord } from './state.js';
import { readForm, safeEqual, sendOAuthError, uniqueParams } from './wire.js';

/**
 * `POST /revoke` (RFC 7009). Revoking a refresh token ends its whole grant (§2.1 SHOULD); an
 * access token ends alone. Unknown tokens and other clients' tokens answer 200 and change nothing.
 */
export async function handleRevoke(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
): Promise<void> {
  if (!state.behaviour.revocation) return sendJson(res, 404, { error: 'not_found' });
  const at = state.clock.now();
  const record = (fields: Omit<RevocationRecord, 'at'>) => state.records.revocations.push({ ...fields, at });
  const form = await readForm(req);
  const parsed = form ? uniqueParams(form) : undefined;
  const token = parsed?.ok ? parsed.params.get('token') : undefined;
  if (!parsed?.ok || !token) {
    record({ tokenType: 'unknown', outcome: 'invalid_request' });
    return sendOAuthError(res, 400, 'invalid_request', 'token is required, in a form-encoded body');
  }
  const auth = authenticateClient(req, parsed.params, state);
  if (!auth.ok) {
    record({
      ...(auth.clientId ? { clientId: auth.clientId } : {}),
      tokenType: 'unknown',
      outcome: 'invalid_client',
    });
    return sendClientAuthError(res, auth);
  }
  const clientId = auth.client.client_id;
  const access = state.accessTokens.get(token);
  const refresh = state.refreshTokens.get(token);
  const grant = state.grants.get(access?.grantId ?? refresh?.grantId ?? '');
  const tokenType = access ? 'access_token' : refresh ? 'refresh_token' : 'unknown';
  if (!grant) {
    record({ clientId, tokenType, outcome: 'unknown_token' });
  } else if (grant.clientId !== clientId) {
    record({ clientId, tokenType, accountId: grant.accountId, outcome: 'other_client' });
  } else {
    if (access) access.revoked = true;
    else grant.revoked = true;
    record({ clientId, tokenType, accountId: grant.accountId, outcome: 'revoked' });
  }
  res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

/**
 * GitHub's `DELETE /applications/{client_id}/grant`: the app's own Basic credentials (never the
 * body), a JSON `{access_token}` of that app, and every token of the account's grants with that app
 * ends (GitHub deletes the whole authorization). 204 when deleted; 404 for a wrong app, secret or
 * token, and 422 for a body without a token, as GitHub answers.
 */
export async function handleGrantDeletion(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
  clientId: string,
): Promise<void> {
  const at = state.clock.now();
  const record = (fields: Omit<RevocationRecord, 'at'>) => state.records.revocations.push({ ...fields, at });
  const client = state.clients.get(clientId);
  const basic = basicCredentials(req);
  if (
    !client?.client_secret ||
    !basic ||
    basic === 'malformed' ||
    basic.id !== clientId ||
    !safeEqual(basic.secret, client.client_secret)
  ) {
    record({ clientId, tokenType: 'unknown', outcome: 'invalid_client' });
    return sendJson(res, 404, { message: 'Not Found' });
  }
  let token: unknown;
  try {
    if (mediaType(req) !== 'application/json') throw new Error('expected application/json');
    token = (JSON.parse((await readBody(req, 64_000)).toString('utf8')) as { access_token?: unknown })
      .access_token;
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || token === '') {
    record({ clientId, tokenType: 'unknown', outcome: 'invalid_request' });
    return sendJson(res, 422, { message: 'Invalid request.\n\n"access_token" wasn\'t supplied.' });
  }
  const access = state.accessTokens.get(token);
  const grant = state.grants.get(access?.grantId ?? '');
  // GitHub wants a valid token: an expired or revoked one finds no authorization to delete.
  if (!access || !grant || grant.clientId !== clientId || !state.activeAccessToken(token)) {
    record({ clientId, tokenType: 'access_token', outcome: 'unknown_token' });
    return sendJson(res, 404, { message: 'Not Found' });
  }
  for (const other of state.grants.values()) {
    if (other.accountId === grant.accountId && other.clientId === clientId) other.revoked = true;
  }
  record({ clientId, tokenType: 'access_token', accountId: grant.accountId, outcome: 'revoked' });
  res.writeHead(204);
  res.end();
}
