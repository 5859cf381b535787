import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  browserSignedInAs,
  connectCatalogAccount,
  connectLink,
  continueLink,
  runConnect,
} from '../support/connect.js';
import type { Harness } from '../support/harness.js';
import { agentConfig, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, item 5 (security R24): scopes no wider than the agents need. The sandbox's GitHub declares
 * `read` for everyone and `write` for people whose agents write with it. The connect page says what is
 * asked and why before anything leaves for Slack or the provider; an agent that starts writing asks
 * the people it affects to reconnect.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
}, 60_000);
afterAll(() => h.close());

const key = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;

/** The scope the provider's authorization endpoint last saw for the account. */
function askedScope(account: string): string | undefined {
  return h.sandbox.providers.github.authorizations.filter((a) => a.accountId === account && a.scope).at(-1)
    ?.scope;
}

async function saveThroughSetup(name: string, writers?: string[]): Promise<void> {
  const config = await agentConfig(h, name, { create_page: 'ask', search: 'allow' }, writers, 'github');
  const saved = await h.services.agentSetup.save(
    { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' },
    { kind: 'ready', config },
    'setup',
  );
  expect(saved.kind).toBe('saved');
  await h.settle();
}

test('with no agent writing to GitHub, the connect page says read only, and only read is asked', async () => {
  const link = await connectLink(h, 'U_BOB', 'github');
  const confirm = await browserSignedInAs(h, 'U_BOB').get(link);
  expect(confirm.html).toContain('Deputy asks GitHub (sandbox) for: <code>read</code>.');
  expect(confirm.html).toContain(
    'Read access only: none of the agents you may use writes to GitHub (sandbox).',
  );
  // Sign in with Slack is steered to the link's workspace (Enterprise Grid would ask which one).
  expect(new URL(continueLink(confirm) ?? '').searchParams.get('team')).toBe(h.sandbox.slack.teamId);

  const run = await runConnect(h, await connectLink(h, 'U_BOB', 'github'), {
    signedInAs: 'U_BOB',
    account: 'acct_bob',
  });
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  expect(askedScope('acct_bob')).toBe('read');
  expect((await h.store.connections.get(key('U_BOB'), 'github'))?.access).toBe('read');
});

test('a writer of an agent that writes to GitHub is asked for write too, and told which agent; others are not', async () => {
  await saveThroughSetup('gh-writer', ['U_ALICE']);
  // Bob may not use gh-writer's writing tools: nobody asks him to reconnect.
  expect(
    h.sandbox.slack.calls.some(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === h.sandbox.slack.dmChannelId('U_BOB') &&
        String(c.body.text).includes('now writes'),
    ),
  ).toBe(false);

  const link = await connectLink(h, 'U_ALICE', 'github');
  const confirm = await browserSignedInAs(h, 'U_ALICE').get(link);
  expect(confirm.html).toContain('<code>read</code>, <code>write</code>');
  expect(confirm.html).toContain('the agent gh-writer may write to GitHub (sandbox) for you');
  await runConnect(h, await connectLink(h, 'U_ALICE', 'github'), {
    signedInAs: 'U_ALICE',
    account: 'acct_alice',
  });
  expect(askedScope('acct_alice')).toBe('read write');
  expect((await h.store.connections.get(key('U_ALICE'), 'github'))?.access).toBe('read_write');
});

test('an agent changed to write for everyone asks the people with read-only connections to reconnect', async () => {
  await saveThroughSetup('gh-team');
  const dm = h.sandbox.slack.calls.find(
    (c) =>
      c.method === 'chat.postMessage' &&
      c.body.channel === h.sandbox.slack.dmChannelId('U_BOB') &&
      String(c.body.text).includes('now writes'),
  );
  expect(String(dm?.body.text)).toContain('The agent gh-team now writes to GitHub (sandbox) for you');
  expect(JSON.stringify(dm?.body.blocks)).toContain('Reconnect');
  // Alice already granted write: she is not asked.
  expect(
    h.sandbox.slack.calls.some(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.body.channel === h.sandbox.slack.dmChannelId('U_ALICE') &&
        String(c.body.text).includes('now writes'),
    ),
  ).toBe(false);
  // Reconnecting asks for write this time.
  const reconnect = /"url":"([^"]+\/connect\/[^"]+)"/.exec(JSON.stringify(dm?.body.blocks))?.[1] ?? '';
  await runConnect(h, reconnect, { signedInAs: 'U_BOB', account: 'acct_bob' });
  expect(askedScope('acct_bob')).toBe('read write');
  expect((await h.store.connections.get(key('U_BOB'), 'github'))?.access).toBe('read_write');
});

test('a catalog account is asked for read only, whatever the agents write', async () => {
  await connectCatalogAccount(h, 'github');
  expect(askedScope('acct_carol')).toBe('read');
  expect((await h.store.catalogAccounts.get('github'))?.status).toBe('active');
});
