import type { ServerResponse } from 'node:http';
import { escapeHtml } from '../../src/http.js';
import { sendHtml } from '../http.js';
import type { SlackUser } from './workspace.js';

/** Where the sign-in and consent forms post. */
export const DECISION_PATH = '/openid/connect/authorize/decision';

/** A self-contained page: no external resources, no framing, nothing cached, no referrer. */
export function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} | Slack</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1d1c1d}
h1{font-size:1.4rem}form{display:flex;flex-direction:column;gap:.5rem}
button{padding:.6rem 1rem;border-radius:6px;border:1px solid #bbb;background:#fff;font-size:1rem;text-align:left;cursor:pointer}
button.primary{background:#4a154b;color:#fff;border-color:#4a154b}.muted{color:#616061}.error{color:#a11}
</style></head><body>${body}</body></html>`;
  sendHtml(res, status, html);
}

export function sendErrorPage(res: ServerResponse, title: string, detail: string): void {
  sendPage(res, 400, title, `<h1 class="error">${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>`);
}

export interface PageContext {
  /** The pending request's opaque id, carried by the form. */
  requestId: string;
  appName: string;
  teamName: string;
  /** Where the browser goes back to (origin only is shown). */
  redirectUri: string;
  scopes: readonly string[];
}

function scopeText(scopes: readonly string[]): string {
  const wants = ['your Slack identity'];
  if (scopes.includes('profile')) wants.push('your name, profile picture and workspace');
  if (scopes.includes('email')) wants.push('your email address');
  return wants.join(', ');
}

function footer(ctx: PageContext): string {
  return `<p class="muted">${escapeHtml(ctx.appName)} will see ${escapeHtml(scopeText(ctx.scopes))}.
You will be sent back to ${escapeHtml(new URL(ctx.redirectUri).origin)}.</p>`;
}

/** No session: pick who signs in. Each person is a submit button of the decision form. */
export function signInPage(res: ServerResponse, ctx: PageContext, users: readonly SlackUser[]): void {
  const buttons = users
    .map(
      (u) =>
        `<button type="submit" name="user" value="${escapeHtml(u.id)}">${escapeHtml(u.realName)} <span class="muted">@${escapeHtml(u.name)}</span></button>`,
    )
    .join('\n');
  const body = `<h1>Sign in to ${escapeHtml(ctx.teamName)}</h1>
<p>Choose an account to sign in to ${escapeHtml(ctx.appName)} with Slack.</p>
<form method="post" action="${DECISION_PATH}">
<input type="hidden" name="request" value="${escapeHtml(ctx.requestId)}">
${buttons}
<button type="submit" name="action" value="deny">Cancel</button>
</form>
${footer(ctx)}`;
  sendPage(res, 200, 'Sign in', body);
}

/** A session: confirm the signed-in person, or switch account, or deny. */
export function consentPage(res: ServerResponse, ctx: PageContext, user: SlackUser): void {
  const body = `<h1>Sign in to ${escapeHtml(ctx.appName)} with Slack</h1>
<p>You are signed in to ${escapeHtml(ctx.teamName)} as <strong>${escapeHtml(user.realName)}</strong>.</p>
<form method="post" action="${DECISION_PATH}">
<input type="hidden" name="request" value="${escapeHtml(ctx.requestId)}">
<button class="primary" type="submit" name="user" value="${escapeHtml(user.id)}">Continue as ${escapeHtml(user.realName)}</button>
<button type="submit" name="action" value="switch">Use another account</button>
<button type="submit" name="action" value="deny">Cancel</button>
</form>
${footer(ctx)}`;
  sendPage(res, 200, 'Sign in with Slack', body);
}
