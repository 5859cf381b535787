/** Where the provider sent the browser back to, with the parameters a callback reads. */
export interface ConsentRedirect {
  readonly location: URL;
  readonly code?: string;
  readonly state?: string;
  readonly error?: string;
  readonly iss?: string;
}

function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

function readRedirect(response: Response): ConsentRedirect {
  const header = response.headers.get('location');
  if (response.status !== 302 || !header)
    throw new Error(`expected a 302 from the provider, got ${response.status}`);
  const location = new URL(header);
  const get = (name: string) => location.searchParams.get(name) ?? undefined;
  const fields = { code: get('code'), state: get('state'), error: get('error'), iss: get('iss') };
  return {
    location,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  } as ConsentRedirect;
}

/**
 * Plays the user's browser on the provider's consent page: opens `authorizationUrl`, picks
 * `account` (default: the preselected one) and approves or denies. Returns where the provider
 * redirected, without following it. An authorize request the provider refuses with a redirect
 * returns that redirect; an error page throws.
 */
export async function consentInBrowser(
  authorizationUrl: string | URL,
  choice: { account?: string; decision?: 'approve' | 'deny' } = {},
): Promise<ConsentRedirect> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  if (page.status === 302) return readRedirect(page);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`the provider showed an error page (${page.status}): ${html}`);
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const preselected = /name="account" value="([^"]+)" required checked/.exec(html)?.[1];
  const account = choice.account ?? (preselected ? unescapeHtml(preselected) : undefined);
  if (!requestId || !action) throw new Error('the consent page has no decision form');
  const form = new URLSearchParams({
    request_id: unescapeHtml(requestId),
    decision: choice.decision ?? 'approve',
  });
  if (account) form.set('account', account);
  const answer = await fetch(new URL(unescapeHtml(action), page.url || authorizationUrl), {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  if (answer.status !== 302)
    throw new Error(`the consent decision was refused (${answer.status}): ${await answer.text()}`);
  return readRedirect(answer);
}
