import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../../src/http.js';
import type { ProviderState } from './state.js';
import { readForm, sendPage } from './wire.js';

/** The provider's own settings page, where a person makes a personal token to paste into Deputy. */
export const SETTINGS_TOKENS_PATH = '/settings/tokens';

/** `GET`: pick the account the token is for. */
export function handleSettingsPage(res: ServerResponse, state: ProviderState): void {
  const accounts = state.config.accounts
    .map(
      (a, i) =>
        `<label><input type="radio" name="account" value="${escapeHtml(a.id)}" required${i === 0 ? ' checked' : ''}> ${escapeHtml(a.name)}</label>`,
    )
    .join('\n');
  sendPage(
    res,
    200,
    `${state.config.name}: personal tokens`,
    `<h1>${escapeHtml(state.config.name)}: personal API tokens</h1>
<p>A token acts as the account you choose, with every scope. Paste it where an app asks for one.</p>
<form method="post" action="${SETTINGS_TOKENS_PATH}">
<fieldset><legend>Account</legend>
${accounts}
</fieldset>
<div class="actions"><button type="submit" value="approve">Create token</button></div>
</form>`,
  );
}

/** `POST`: a new token, shown once. */
export async function handleSettingsCreate(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
  issue: (accountId: string) => string,
): Promise<void> {
  const accountId = (await readForm(req))?.get('account') ?? '';
  const account = state.account(accountId);
  if (!account) {
    sendPage(res, 400, 'No such account', '<h1 class="error">No such account</h1><p>Choose an account.</p>');
    return;
  }
  const token = issue(account.id);
  sendPage(
    res,
    200,
    'Your new token',
    `<h1>Token for ${escapeHtml(account.name)}</h1>
<p>Copy it now; it is not shown again.</p>
<p><code data-token>${escapeHtml(token)}</code></p>`,
  );
}
