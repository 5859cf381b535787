import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ScopeRequest } from '../connections/catalog.js';
import type { FlowPage } from '../connections/connect-flow.js';
import { escapeHtml } from '../http.js';

/**
 * The browser pages of the connect flow: fixed texts, no scripts, nothing loaded from anywhere, and
 * headers that keep them out of caches, referrers and frames (security R20, R21).
 */

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d}' +
  'h1{font-size:1.4rem}p.detail{color:#616061}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

const TEXTS: Record<FlowPage, { title: string; body: (name: string) => string }> = {
  confirm: {
    title: 'Connect your account',
    body: (name) =>
      `You will sign in with Slack, then ${name} asks you to allow Deputy. Only agents you run will use this account.`,
  },
  connected: {
    title: 'Connected',
    body: () => 'Your account is connected. You can close this tab and go back to Slack.',
  },
  expired: {
    title: 'This link has expired',
    body: () => 'Connect links work once, for ten minutes. Run /agent connect in Slack for a fresh one.',
  },
  not_yours: {
    title: 'This link is not yours',
    body: (name) =>
      `This ${name} link was made for another Slack user than the one signed in here, so nothing was connected. Each person connects their own accounts from Slack.`,
  },
  declined: {
    title: 'Nothing was connected',
    body: (name) => `You did not connect ${name}. You can try again from Slack.`,
  },
  failed: {
    title: 'The connection did not complete',
    body: (name) => `Nothing was saved for ${name}. You can try again from Slack.`,
  },
  refused: {
    title: 'This server cannot be connected',
    body: (name) => `Deputy refused to connect ${name}; nothing was saved.`,
  },
  bad_request: {
    title: 'This request cannot be used',
    body: () => 'Nothing was connected. Start again from Slack with /agent connect, in the same browser.',
  },
  unavailable: { title: 'Not available', body: (name) => `${name} cannot be connected right now.` },
  rate_limited: {
    title: 'Too many connects',
    body: (name) => `${name} was not connected: you reached Deputy's limit on connects.`,
  },
  not_allowed: {
    title: 'Deputy does not connect accounts for you now',
    body: (name) =>
      `An admin suspended Deputy for you, or your account left the workspace, so ${name} was not connected.`,
  },
};

/** The confirmation page of an admin's catalog-account flow: no agent ever uses that account. */
const CATALOG_CONFIRM = {
  title: 'Connect the catalog account',
  body: (name: string) =>
    `You will sign in with Slack, then ${name} asks you to allow Deputy. Deputy keeps this account sealed and uses it only to list ${name}'s tools; no agent uses it.`,
};

export function renderPage(
  name: FlowPage,
  connectorName = 'this account',
  detail?: string,
  confirm?: { request: ScopeRequest; continueTo: string; catalog: boolean },
): string {
  const text = confirm?.catalog ? CATALOG_CONFIRM : TEXTS[name];
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>Deputy: ${escapeHtml(text.title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(text.title)}</h1><p>${escapeHtml(text.body(connectorName))}</p>`,
    detail ? `<p class="detail">${escapeHtml(detail)}</p>` : '',
    confirm ? confirmation(connectorName, confirm.request, confirm.continueTo, confirm.catalog) : '',
    '</body></html>',
  ].join('');
}

/** What the provider will be asked for and why, then the way on (a link: the page allows no forms). */
function confirmation(
  connectorName: string,
  request: ScopeRequest,
  continueTo: string,
  catalog: boolean,
): string {
  const scopes = (request.scopes ?? []).map((s) => `<code>${escapeHtml(s)}</code>`).join(', ');
  const why = catalog
    ? request.access === 'read'
      ? 'Read access only: listing the tools needs nothing more.'
      : `The access ${connectorName} offers (it declares no read-only scopes); Deputy only lists tools with it.`
    : request.access === 'read'
      ? `Read access only: none of the agents you may use writes to ${connectorName}.`
      : request.access === 'read_write'
        ? `Read and write access: the agent ${request.because} may write to ${connectorName} for you (you approve or allow each write as its settings say).`
        : `The access ${connectorName} offers Deputy.`;
  return [
    `<p id="scopes">Deputy asks ${escapeHtml(connectorName)} for: ${scopes || 'its default access'}.</p>`,
    `<p id="why" class="detail">${escapeHtml(why)}</p>`,
    `<p><a id="continue" href="${escapeHtml(continueTo)}">Continue to Sign in with Slack</a></p>`,
  ].join('');
}

export function sendPage(
  res: ServerResponse,
  status: number,
  html: string,
  extraHeaders: Record<string, string | string[]> = {},
) {
  res.writeHead(status, { ...PAGE_HEADERS, ...extraHeaders });
  res.end(html);
}
