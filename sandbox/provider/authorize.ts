import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../../src/http.js';
import { opaqueToken } from '../../src/ids.js';
import { pkceMethods } from './metadata.js';
import { CODE_TTL_MS, PENDING_AUTHORIZATION_TTL_MS } from './options.js';
import type { AuthorizationRecord, PendingAuthorization, ProviderState, RegisteredClient } from './state.js';
import { isPkceString, readForm, redirect, sendPage, uniqueParams } from './wire.js';

export const DECISION_PATH = '/authorize/decision';

const SCOPE_TEXT: Record<string, string> = {
  read: 'Read your pages and search your workspace',
  write: 'Create, change and delete pages',
};

function errorPage(res: ServerResponse, title: string, detail: string): void {
  sendPage(res, 400, title, `<h1 class="error">${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>`);
}

/** Sends the browser back to the client with an RFC 6749 §4.1.2 response and RFC 9207 `iss`. */
function redirectBack(
  res: ServerResponse,
  state: ProviderState,
  redirectUri: string,
  params: Record<string, string | undefined>,
): void {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) target.searchParams.set(name, value);
  target.searchParams.set('iss', state.config.url);
  redirect(res, target.href);
}

/** `GET /authorize`: validate, then show the consent page for a server-side pending request. */
export function handleAuthorize(res: ServerResponse, state: ProviderState, url: URL) {
  const at = state.clock.now();
  const record = (fields: Omit<AuthorizationRecord, 'at' | 'statePresent'>) =>
    state.records.authorizations.push({ ...fields, statePresent: url.searchParams.has('state'), at });
  const parsed = uniqueParams(url.searchParams);
  if (!parsed.ok) {
    record({ outcome: 'invalid_request' });
    return errorPage(res, 'Invalid request', `The parameter ${parsed.duplicate} was given more than once.`);
  }
  const p = parsed.params;
  const clientId = p.get('client_id');
  const client = clientId ? state.clients.get(clientId) : undefined;
  if (!client) {
    record({ ...(clientId ? { clientId } : {}), outcome: 'invalid_client' });
    return errorPage(res, 'Unknown application', 'This application is not registered with this provider.');
  }
  // Never redirect anywhere but an exact registered URI (RFC 6749 §4.1.2.1).
  const given = p.get('redirect_uri');
  const redirectUri = given ?? (client.redirect_uris.length === 1 ? client.redirect_uris[0] : undefined);
  if (!redirectUri || !client.redirect_uris.includes(redirectUri)) {
    record({
      clientId: client.client_id,
      ...(given ? { redirectUri: given } : {}),
      outcome: 'invalid_redirect_uri',
    });
    return errorPage(
      res,
      'Invalid redirect URI',
      'The redirect URI does not match one registered for this application.',
    );
  }
  const requestState = p.get('state');
  const challenge = p.get('code_challenge');
  const method = p.get('code_challenge_method') ?? 'plain'; // RFC 7636 §4.3 default
  const resource = p.get('resource');
  const fields = {
    clientId: client.client_id,
    redirectUri,
    ...(p.has('scope') ? { scope: p.get('scope') } : {}),
    ...(resource ? { resource } : {}),
    ...(challenge ? { codeChallengeMethod: method } : {}),
  };
  const fail = (error: string, description: string) => {
    record({ ...fields, outcome: error });
    redirectBack(res, state, redirectUri, { error, error_description: description, state: requestState });
  };
  if (p.get('response_type') !== 'code')
    return fail('unsupported_response_type', 'response_type must be code');
  if (!requestState) return fail('invalid_request', 'state is required');
  if (!challenge) return fail('invalid_request', 'PKCE code_challenge is required');
  const allowed = pkceMethods(state.behaviour);
  if (!allowed.includes(method as 'S256')) {
    return fail('invalid_request', `code_challenge_method must be ${allowed.join(' or ')}`);
  }
  if (!isPkceString(challenge)) return fail('invalid_request', 'code_challenge is malformed');
  if (resource !== undefined && resource !== state.config.mcpUrl) {
    return fail('invalid_target', `This server only issues tokens for ${state.config.mcpUrl}`);
  }
  const scope = requestedScope(p.get('scope'), client, state.config.scopes);
  const unknown = scope.filter((s) => !state.config.scopes.includes(s));
  if (unknown.length > 0) return fail('invalid_scope', `Unknown scope: ${unknown.join(' ')}`);

  const pending: PendingAuthorization = {
    id: opaqueToken(),
    clientId: client.client_id,
    redirectUri,
    redirectUriGiven: given !== undefined,
    state: requestState,
    scope,
    ...(resource ? { resource } : {}),
    codeChallenge: challenge,
    codeChallengeMethod: method as 'S256' | 'plain',
    expiresAt: at + PENDING_AUTHORIZATION_TTL_MS,
  };
  state.pending.set(pending.id, pending);
  record({ ...fields, outcome: 'consent_shown' });
  sendConsentPage(res, state, client, pending, p.get('login_hint'));
}

function requestedScope(raw: string | undefined, client: RegisteredClient, all: readonly string[]): string[] {
  const text = raw ?? client.scope;
  const scope = text ? text.split(' ').filter(Boolean) : [...all];
  return [...new Set(scope)];
}

function sendConsentPage(
  res: ServerResponse,
  state: ProviderState,
  client: RegisteredClient,
  pending: PendingAuthorization,
  loginHint: string | undefined,
): void {
  const { name, accounts } = state.config;
  const clientName = client.client_name ?? client.client_id;
  // With a hint that names nobody, nothing is preselected: a typo must not pick someone.
  const selected = loginHint === undefined ? accounts[0]?.id : loginHint;
  const accountInputs = accounts
    .map((a) => {
      const checked = a.id === selected ? ' checked' : '';
      const email = a.email ? ` (${escapeHtml(a.email)})` : '';
      return `<label><input type="radio" name="account" value="${escapeHtml(a.id)}" required${checked}> ${escapeHtml(a.name)}${email}</label>`;
    })
    .join('\n');
  const scopes = pending.scope
    .map((s) => `<li><code>${escapeHtml(s)}</code>: ${escapeHtml(SCOPE_TEXT[s] ?? s)}</li>`)
    .join('');
  const body = `<h1>${escapeHtml(clientName)} wants to access ${escapeHtml(name)}</h1>
<p>It is asking to:</p><ul>${scopes}</ul>
<form method="post" action="${DECISION_PATH}">
<input type="hidden" name="request_id" value="${escapeHtml(pending.id)}">
<fieldset><legend>Continue as</legend>
${accountInputs}
</fieldset>
<div class="actions">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>
</form>
<p>You will be sent back to ${escapeHtml(new URL(pending.redirectUri).origin)}.</p>`;
  sendPage(res, 200, `Authorize ${clientName}`, body);
}

/** `POST /authorize/decision`: the consent form. Approve issues a code; Deny sends access_denied. */
export async function handleDecision(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
): Promise<void> {
  const at = state.clock.now();
  const form = await readForm(req);
  const parsed = form ? uniqueParams(form) : undefined;
  if (!parsed?.ok) return errorPage(res, 'Invalid request', 'The consent form could not be read.');
  const p = parsed.params;
  const pending = state.pending.get(p.get('request_id') ?? '');
  if (!pending || pending.expiresAt <= at) {
    return errorPage(
      res,
      'Request expired',
      'This authorization request is unknown, expired or already answered.',
    );
  }
  const decision = p.get('decision');
  const account = state.account(p.get('account') ?? '');
  if (decision !== 'deny' && (decision !== 'approve' || !account)) {
    return errorPage(res, 'Choose an account', 'Pick the account to continue as, then approve or deny.');
  }
  state.pending.delete(pending.id);
  const fields = {
    clientId: pending.clientId,
    redirectUri: pending.redirectUri,
    scope: pending.scope.join(' '),
    ...(pending.resource ? { resource: pending.resource } : {}),
    codeChallengeMethod: pending.codeChallengeMethod,
    statePresent: true,
    at,
  };
  if (decision === 'deny' || !account) {
    state.records.authorizations.push({ ...fields, outcome: 'denied' });
    return redirectBack(res, state, pending.redirectUri, {
      error: 'access_denied',
      error_description: 'The user denied the request',
      state: pending.state,
    });
  }
  const code = state.secret('code');
  state.codes.set(code, {
    clientId: pending.clientId,
    redirectUri: pending.redirectUri,
    redirectUriGiven: pending.redirectUriGiven,
    codeChallenge: pending.codeChallenge,
    codeChallengeMethod: pending.codeChallengeMethod,
    ...(pending.resource ? { resource: pending.resource } : {}),
    scope: pending.scope,
    accountId: account.id,
    expiresAt: at + CODE_TTL_MS,
    redeemed: false,
  });
  state.records.authorizations.push({ ...fields, accountId: account.id, outcome: 'approved' });
  redirectBack(res, state, pending.redirectUri, { code, state: pending.state });
}
