import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http.js';
import { authenticateClient, sendClientAuthError } from './clients.js';
import type { ProviderState, RevocationRecord } from './state.js';
import { readForm, sendOAuthError, uniqueParams } from './wire.js';

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
