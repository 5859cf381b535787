import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Harness, startHarness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('no secret reaches a log line, a DynamoDB item, a Slack message or a URL', async () => {
  const canaryToken = 'canary-credential-token-4d1f9a';
  // Traffic that touches every surface built so far: a refused forgery, help, status (vault
  // creation), and status again with a credential in the vault.
  await h.driver.send({
    body: 'command=%2Fagent&text=status',
    contentType: 'application/x-www-form-urlencoded',
    signingSecret: 'forged',
  });
  await h.driver.command('U_ALICE', 'help');
  const first = await h.driver.command('U_ALICE', 'status');
  await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === first.responseUrl);
  const mapping = await h.store.vaultMappings.get(`T:${h.sandbox.slack.teamId}:U_ALICE`);
  if (mapping?.status !== 'ready') throw new Error('no vault');
  await h.anthropic.beta.vaults.credentials.create(mapping.resourceId, {
    auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.test/mcp', token: canaryToken },
  });
  const second = await h.driver.command('U_ALICE', 'status');
  await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === second.responseUrl);

  const secrets = [
    h.sandbox.signingSecret,
    h.sandbox.slackConnection.botToken,
    h.sandbox.anthropicOptions.apiKey,
    canaryToken,
  ];
  const logs = h.logLines.join('\n');
  const tables = JSON.stringify(await h.scanTables());
  // The bot token authenticates Web API calls (as it must); it may not appear in what they carry.
  const slackContent = JSON.stringify(h.sandbox.slack.calls.map((c) => ({ method: c.method, body: c.body })));
  const urls = h.sandbox.slack.calls.map((c) => String(c.body.url ?? '')).join('\n');
  expect(logs.length).toBeGreaterThan(0);
  expect(tables.length).toBeGreaterThan(2);
  for (const secret of secrets) {
    expect(logs).not.toContain(secret);
    expect(tables).not.toContain(secret);
    expect(slackContent).not.toContain(secret);
    expect(urls).not.toContain(secret);
  }
});
