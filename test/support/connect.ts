import { expect } from '@jest/globals';
import { type Page, TestBrowser } from './browser.js';
import type { Harness } from './harness.js';

/** A Slack message's blocks as the user saw them. */
export interface ShownMessage {
  text?: string;
  blocks?: Array<{
    block_id?: string;
    accessory?: { action_id?: string; url?: string; value?: string; text?: { text: string } };
  }>;
}

/** `/agent connect` as `userId` types it; returns what they were shown and the response_url. */
export async function connectMessage(
  h: Harness,
  userId: string,
): Promise<{ message: ShownMessage; responseUrl: string }> {
  const sent = await h.driver.command(userId, 'connect');
  expect(sent.status).toBe(200);
  const call = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl, 10_000);
  return { message: call.body as ShownMessage, responseUrl: sent.responseUrl };
}

/** The button a connector's row shows. */
export function buttonOf(message: ShownMessage, connectorId: string) {
  const accessory = message.blocks?.find((b) => b.block_id === `connector:${connectorId}`)?.accessory;
  if (!accessory) throw new Error(`no button for ${connectorId}`);
  return accessory;
}

/** The Connect link for `connectorId` from a fresh `/agent connect`. */
export async function connectLink(h: Harness, userId: string, connectorId: string): Promise<string> {
  const { message } = await connectMessage(h, userId);
  const url = buttonOf(message, connectorId).url;
  if (!url) throw new Error(`${connectorId} shows no link`);
  return url;
}

/** A browser whose Slack session is `userId` (as if they were signed in to Slack in it). */
export function browserSignedInAs(h: Harness, userId: string): TestBrowser {
  const browser = new TestBrowser();
  const oidc = h.sandbox.slack.oidc;
  browser.setCookie(oidc.issuer, oidc.sessionCookieName, oidc.signIn(userId));
  return browser;
}

export interface ConnectRun {
  browser: TestBrowser;
  /** The page the run ended on. */
  page: Page;
  /** Every URL the browser fetched, in order. */
  urls: string[];
}

/**
 * Opens a Connect link in a browser signed in to Slack as `signedInAs`, continues as that person,
 * and at the provider's consent page chooses `account` and `decision`.
 */
export async function runConnect(
  h: Harness,
  link: string,
  options: {
    signedInAs: string;
    account?: string;
    decision?: 'approve' | 'deny';
    browser?: TestBrowser;
    stopAtProvider?: string;
  },
): Promise<ConnectRun> {
  const browser = options.browser ?? browserSignedInAs(h, options.signedInAs);
  const urls: string[] = [];
  const stopAt = options.stopAtProvider
    ? (url: URL) =>
        url.origin === new URL(options.stopAtProvider ?? '').origin && url.pathname === '/authorize'
    : undefined;
  const track = (page: Page) => {
    urls.push(...page.hops.map((hop) => hop.url));
    return page;
  };
  let page = track(await browser.get(link, stopAt ? { stopAt } : {}));
  // Deputy's first page says what the provider will be asked for; Continue goes on to Slack.
  const continueTo = continueLink(page);
  if (continueTo)
    page = track(await browser.get(continueTo, { from: page.url, ...(stopAt ? { stopAt } : {}) }));
  // Sign in with Slack's consent page: continue as the person the browser is signed in as.
  if (page.url.startsWith(h.sandbox.slack.oidc.issuer) && page.html.includes('Continue as')) {
    page = track(
      await browser.submitForm(page, {
        button: { name: 'user', value: options.signedInAs },
        ...(stopAt ? { stopAt } : {}),
      }),
    );
  }
  if (!page.stoppedAt && page.html.includes('name="decision"')) {
    page = track(
      await browser.submitForm(page, {
        fields: { account: options.account ?? 'acct_alice' },
        button: { name: 'decision', value: options.decision ?? 'approve' },
      }),
    );
  }
  return { browser, page, urls };
}

/** Where the connect page's Continue link goes, if the page is Deputy's confirmation. */
export function continueLink(page: Page): string | undefined {
  const href = /<a id="continue" href="([^"]+)"/.exec(page.html)?.[1];
  return href?.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** The person's active vault credentials, as the Managed Agents emulator holds them. */
export function activeCredentials(h: Harness, vaultId: string) {
  return h.sandbox.managedAgents.credentials(vaultId).filter((c) => !c.archived_at);
}

/**
 * The admin clicks Connect catalog account for `connectorId` in `/agent servers`, opens the link the
 * DM brings, and signs in at the provider as the dedicated account (Carol's).
 */
export async function connectCatalogAccount(h: Harness, connectorId: string): Promise<void> {
  await h.driver.command('U_ADMIN', 'servers');
  await h.sandbox.slack.waitFor('views.update', (c) =>
    JSON.stringify(c.body).includes('admin_catalog_connect'),
  );
  const before = h.sandbox.slack.callsTo('chat.postMessage').length;
  const clicked = await h.driver.blockAction('U_ADMIN', {
    actionId: 'admin_catalog_connect',
    value: connectorId,
  });
  expect(clicked.status).toBe(200);
  const dm = await h.sandbox.slack.waitFor(
    'chat.postMessage',
    (c) =>
      h.sandbox.slack.callsTo('chat.postMessage').indexOf(c) >= before &&
      String(c.body.text).includes('catalog account: sign in'),
  );
  const link = /"url":"([^"]+\/connect\/[^"]+)"/.exec(JSON.stringify(dm.body.blocks))?.[1];
  if (!link) throw new Error('no link in the DM');
  const run = await runConnect(h, link, { signedInAs: 'U_ADMIN', account: 'acct_carol' });
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  await h.settle();
}
