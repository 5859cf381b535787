import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { principalKey } from '../../src/identity/principal.js';
import { activeCredentials, connectCatalogAccount, connectLink, runConnect } from '../support/connect.js';
import { type Harness, joinWorkspace, startHarness, vaultIdOf } from '../support/harness.js';

describe('with private addresses not allowed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ environment: { DEPUTY_ALLOW_PRIVATE_NETWORK: 'false' } });
  });
  afterAll(() => h.close());

  test('a provider on a loopback address is refused before any redirect, and nothing is stored', async () => {
    for (const connectorId of ['notion', 'github']) {
      const provider = h.sandbox.providers[connectorId as 'notion' | 'github'];
      const run = await runConnect(h, await connectLink(h, 'U_ALICE', connectorId), {
        signedInAs: 'U_ALICE',
      });
      expect(run.page.status).toBe(502);
      expect(run.page.html).toContain('must be public https URLs');
      expect(run.urls.some((u) => u.startsWith(provider.url))).toBe(false);
      expect(
        await h.store.connections.get(`T:${h.sandbox.slack.teamId}:U_ALICE`, connectorId),
      ).toBeUndefined();
    }
    expect(h.sandbox.providers.notion.registrations).toEqual([]);
  });
});

describe('with a provider slower than the time limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ outboundTimeoutMs: 1000 });
  });
  afterAll(() => h.close());

  test('a token endpoint that times out: a clear page, nothing stored, the user told', async () => {
    const notion = h.sandbox.providers.notion;
    notion.setBehaviour({ tokenDelayMs: 3000 });
    try {
      const run = await runConnect(h, await connectLink(h, 'U_BOB', 'notion'), { signedInAs: 'U_BOB' });
      expect(run.page.status).toBe(502);
      expect(run.page.html).toContain('did not complete');
      expect(await h.store.connections.get(`T:${h.sandbox.slack.teamId}:U_BOB`, 'notion')).toBeUndefined();
      const dm = h.sandbox.slack.messages(h.sandbox.slack.dmChannelId('U_BOB')).at(-1);
      expect(JSON.stringify(dm)).toContain('did not complete');
    } finally {
      notion.resetBehaviour();
    }
  });
});

describe('connect under stress and with canaries', () => {
  let h: Harness;
  /** Every URL a browser fetched during these tests. */
  const browsed: string[] = [];
  /** A sealing key of the test's, so it is a canary too. */
  const sealingKey = Buffer.alloc(32, 0x5a).toString('base64');
  beforeAll(async () => {
    h = await startHarness({ outboundTimeoutMs: 30_000, environment: { DEPUTY_SEALING_KEY: sealingKey } });
  });
  afterAll(() => h.close());

  test('50 people connecting at once: each vault holds only its owner’s credential', async () => {
    const slack = h.sandbox.slack;
    const notion = h.sandbox.providers.notion;
    const accounts = notion.accounts.map((a) => a.id);
    const people = Array.from({ length: 50 }, (_, i) => ({
      userId: `U_CROWD${i}`,
      account: accounts[i % accounts.length] ?? '',
    }));
    for (const { userId } of people) joinWorkspace(h, userId);
    const links = await Promise.all(people.map(({ userId }) => connectLink(h, userId, 'notion')));
    const runs = await Promise.all(
      people.map(({ userId, account }, i) => runConnect(h, links[i] ?? '', { signedInAs: userId, account })),
    );
    browsed.push(...runs.flatMap((r) => r.urls));
    expect(runs.map((r) => r.page.status)).toEqual(people.map(() => 200));

    const seenTokens = new Set<string>();
    for (const { userId, account } of people) {
      const key = principalKey({ teamId: slack.teamId, userId });
      const vaultId = await vaultIdOf(h, userId);
      const vault = await h.anthropic.beta.vaults.retrieve(vaultId);
      expect(vault.metadata.deputy_principal).toBe(key);
      const [credential, ...others] = activeCredentials(h, vaultId);
      expect(others).toEqual([]);
      const token = String(h.sandbox.managedAgents.credentialSecrets(credential?.id ?? '')?.access_token);
      expect(notion.tokenInfo(token)?.accountId).toBe(account);
      seenTokens.add(token);
    }
    expect(seenTokens.size).toBe(50);
  }, 60_000);

  test('after all of it, no token or secret appears in a log line, a DynamoDB item, a Slack call or a URL', async () => {
    // One of each remaining kind of connect, so every secret has passed through.
    const github = await runConnect(h, await connectLink(h, 'U_ADMIN', 'github'), {
      signedInAs: 'U_ADMIN',
      account: 'acct_carol',
    });
    browsed.push(...github.urls);
    const pasted = h.sandbox.providers.linear.issuePersonalToken('acct_bob');
    await h.driver.viewSubmission('U_ALICE', {
      callbackId: 'connect_paste_token_modal',
      privateMetadata: JSON.stringify({ connectorId: 'linear' }),
      stateValues: { token_block: { token_value: pasted } },
    });
    await h.sandbox.slack.waitFor('views.publish', (c) => c.body.user_id === 'U_ALICE');
    // The tokens Deputy keeps sealed: a catalog account, and a revocation handle used by a disconnect.
    await connectCatalogAccount(h, 'notion');
    await h.driver.command('U_ADMIN', 'connect');
    await h.settle();
    await h.driver.blockAction('U_ADMIN', { actionId: 'connect_disconnect', value: 'github' });
    await h.settle();
    expect(h.sandbox.providers.github.revocations.some((r) => r.outcome === 'revoked')).toBe(true);

    const providerTokens = Object.values(h.sandbox.providers).flatMap((p) => [...p.issuedTokens()]);
    const githubSecret = h.sandbox.connectors.find((c) => c.id === 'github');
    const secrets = [
      ...providerTokens,
      pasted,
      h.sandbox.signingSecret,
      h.sandbox.slackConnection.botToken,
      h.sandbox.anthropicOptions.apiKey,
      h.sandbox.webhookSigningKey,
      h.sandbox.signIn.clientSecret,
      sealingKey,
      githubSecret?.auth.type === 'oauth_client' ? (githubSecret.auth.clientSecret ?? '') : '',
    ].filter((s) => s.length > 0);
    expect(providerTokens.length).toBeGreaterThan(100);

    const logs = h.logLines.join('\n');
    const tables = JSON.stringify(await h.scanTables());
    // The bot token authenticates Web API calls, as it must; it may not appear in what they carry.
    const slackCalls = JSON.stringify(h.sandbox.slack.calls.map((c) => ({ method: c.method, body: c.body })));
    const urls = [...browsed, ...h.sandbox.slack.calls.map((c) => String(c.body.url ?? ''))].join('\n');
    expect(browsed.length).toBeGreaterThan(300);
    for (const secret of secrets) {
      expect(logs.includes(secret)).toBe(false);
      expect(tables.includes(secret)).toBe(false);
      expect(slackCalls.includes(secret)).toBe(false);
      expect(urls.includes(secret)).toBe(false);
    }
  });
});
