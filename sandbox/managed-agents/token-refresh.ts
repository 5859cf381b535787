import type { CredentialRecord, EmulatorState } from './store.js';

/**
 * The standard OAuth `refresh_token` grant the platform runs for an `mcp_oauth` credential
 * whose access token has expired (or was rejected), authenticating to the token endpoint as the
 * credential's `token_endpoint_auth` says. On success the vault holds the new tokens.
 */
export async function refreshCredential(
  state: EmulatorState,
  record: CredentialRecord,
  fetchImpl: typeof fetch,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const auth = record.value.auth;
  const refreshToken = record.secrets.refresh_token;
  if (auth.type !== 'mcp_oauth' || !auth.refresh || !refreshToken) {
    return { ok: false, message: 'no refresh token is stored for the credential' };
  }
  const { client_id, token_endpoint, token_endpoint_auth, resource, scope } = auth.refresh;
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  const clientSecret = record.secrets.client_secret ?? '';
  if (token_endpoint_auth.type === 'client_secret_basic') {
    const user = encodeURIComponent(client_id);
    const pass = encodeURIComponent(clientSecret);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  } else {
    form.set('client_id', client_id);
    if (token_endpoint_auth.type === 'client_secret_post') form.set('client_secret', clientSecret);
  }
  if (resource) form.set('resource', resource);
  if (scope) form.set('scope', scope);

  let response: Response;
  try {
    response = await fetchImpl(token_endpoint, { method: 'POST', headers, body: form.toString() });
  } catch (error) {
    return {
      ok: false,
      message: `token endpoint unreachable: ${error instanceof Error ? error.message : error}`,
    };
  }
  const body = (await response.json().catch(() => null)) as {
    access_token?: unknown;
    expires_in?: unknown;
    refresh_token?: unknown;
  } | null;
  if (!response.ok || typeof body?.access_token !== 'string') {
    return { ok: false, message: `token endpoint answered ${response.status}` };
  }
  // The credential may have been archived or rotated while the request was in flight.
  if (record.value.archived_at) return { ok: false, message: 'the credential was archived' };
  record.secrets.access_token = body.access_token;
  if (typeof body.refresh_token === 'string') record.secrets.refresh_token = body.refresh_token;
  const expiresAt =
    typeof body.expires_in === 'number'
      ? new Date(state.clock.now() + body.expires_in * 1000).toISOString()
      : null;
  record.value = { ...record.value, auth: { ...auth, expires_at: expiresAt }, updated_at: state.now() };
  return { ok: true };
}
