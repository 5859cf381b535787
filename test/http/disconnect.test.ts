import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ProviderEmulator } from '../../sandbox/provider/emulator.js';
import { activeCredentials, connectLink, runConnect } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import { eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, a disconnect that really disconnects: the credential leaves the vault, the token is
 * revoked at the provider (RFC 7009, or GitHub's grant deletion) so the provider refuses it
 * afterwards, the person's live sessions that use the server stop, and a DM confirms it. When the
 * provider does not confirm, the credential is archived anyway and the DM says the provider may
 * still honour the token.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
}, 60_000);
afterAll(() => h.close());

/** The tokens the provider issued to the account. */
function tokensOf(provider: ProviderEmulator, account: string): string[] {
  return provider.issuedTokens().filter((t) => provider.tokenInfo(t)?.accountId === account);
}

/** What the MCP server answers to `initialize` with the token. */
async function mcpStatus(provider: ProviderEmulator, token: string): Promise<number> {
  const response = await fetch(provider.mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
  await response.body?.cancel();
  return response.status;
}

async function disconnect(userId: string, connectorId: string): Promise<void> {
  await h.driver.command(userId, 'connect');
  await h.settle();
  const clicked = await h.driver.blockAction(userId, { actionId: 'connect_disconnect', value: connectorId });
  expect(clicked.status).toBe(200);
  await h.settle();
}

function disconnectedDm(userId: string, connectorName: string): string {
  const dm = h.sandbox.slack.calls.filter(
    (c) =>
      c.method === 'chat.postMessage' &&
      String(c.body.text).startsWith(`${connectorName} is disconnected`) &&
      c.body.channel === h.sandbox.slack.dmChannelId(userId),
  );
  return String(dm.at(-1)?.body.text);
}

async function auditedActions(userId: string): Promise<string[]> {
  return (await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:${userId}`)).map((r) => r.action);
}

test('Disconnect archives the credential, revokes the token at the provider (RFC 7009), stops the live sessions that use it, and confirms by DM', async () => {
  const notion = h.sandbox.providers.notion;
  const tokens = tokensOf(notion, 'acct_alice');
  expect(tokens.length).toBeGreaterThan(0);
  expect(await mcpStatus(notion, tokens[0] ?? '')).toBe(200);
  const { session } = await runAgent(h, 'U_ALICE', '--agent asker create a page titled Before disconnecting');
  if (!session) throw new Error('no session');
  const { session: bobs } = await runAgent(h, 'U_BOB', '--agent asker create a page titled Bob keeps going');
  if (!bobs) throw new Error('no session');

  await disconnect('U_ALICE', 'notion');

  expect(activeCredentials(h, await vaultIdOf(h, 'U_ALICE'))).toEqual([]);
  // The provider ended the grant: it refuses every token it gave for Alice.
  for (const token of tokens) expect(notion.tokenRevoked(token)).toBe(true);
  expect(await mcpStatus(notion, tokens[0] ?? '')).toBe(401);
  expect(notion.revocations.filter((r) => r.outcome === 'revoked').map((r) => r.accountId)).toContain(
    'acct_alice',
  );
  // Bob's tokens stand.
  for (const token of tokensOf(notion, 'acct_bob')) expect(notion.tokenRevoked(token)).toBe(false);
  expect(eventsSent(h, session.sessionId, 'user.interrupt')).toHaveLength(1);
  expect(eventsSent(h, bobs.sessionId, 'user.interrupt')).toHaveLength(0);
  expect(disconnectedDm('U_ALICE', 'Notion (sandbox)')).toMatch(
    /1 live session that used it was stopped\. Notion \(sandbox\) accepted Deputy's request to revoke the token\.$/,
  );
  expect(await auditedActions('U_ALICE')).toEqual(
    expect.arrayContaining(['connection.disconnected', 'connection.token_revoked', 'session.stopped']),
  );
  // The sealed handle is gone with the connection.
  expect(
    await h.store.revocationHandles.get(`T:${h.sandbox.slack.teamId}:U_ALICE`, 'notion'),
  ).toBeUndefined();
});

test("Disconnecting GitHub deletes the app's grant through GitHub's own API, and the provider refuses the token", async () => {
  const github = h.sandbox.providers.github;
  const run = await runConnect(h, await connectLink(h, 'U_ALICE', 'github'), {
    signedInAs: 'U_ALICE',
    account: 'acct_alice',
  });
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  const tokens = tokensOf(github, 'acct_alice');
  expect(tokens.length).toBeGreaterThan(0);

  await disconnect('U_ALICE', 'github');

  for (const token of tokens) expect(github.tokenRevoked(token)).toBe(true);
  expect(await mcpStatus(github, tokens[0] ?? '')).toBe(401);
  expect(github.revocations.at(-1)).toMatchObject({ outcome: 'revoked', accountId: 'acct_alice' });
  expect(disconnectedDm('U_ALICE', 'GitHub (sandbox)')).toMatch(
    /accepted Deputy's request to revoke the token\.$/,
  );
});

test('When the provider does not confirm, the credential is archived anyway and the DM says the provider may still honour the token', async () => {
  const notion = h.sandbox.providers.notion;
  const tokens = tokensOf(notion, 'acct_bob');
  notion.setBehaviour({ revocation: false });
  try {
    await disconnect('U_BOB', 'notion');
  } finally {
    notion.resetBehaviour();
  }

  expect(activeCredentials(h, await vaultIdOf(h, 'U_BOB'))).toEqual([]);
  expect(tokens.some((t) => !notion.tokenRevoked(t))).toBe(true);
  expect(disconnectedDm('U_BOB', 'Notion (sandbox)')).toMatch(
    /did not confirm: it may still honour the token until it expires; to end it now, remove Deputy's access/,
  );
  const revoked = (await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`)).find(
    (r) => r.action === 'connection.token_revoked',
  );
  expect(revoked).toMatchObject({ outcome: 'failure', details: { result: 'unconfirmed' } });
});
