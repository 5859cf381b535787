import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { slashCommandBody } from '../../sandbox/slack/payloads.js';
import { PRINCIPAL_METADATA_KEY } from '../../src/vaults/vault-service.js';
import { type Harness, startHarness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => h.sandbox.slack.reset());

interface Reply {
  response_type?: string;
  text?: string;
  blocks?: unknown[];
}

/** The reply Slack showed for a command: the ack body, or the first response_url post. */
async function replyTo(userId: string, text: string): Promise<Reply> {
  const sent = await h.driver.command(userId, text);
  expect(sent.status).toBe(200);
  if (sent.text) return sent.json as Reply;
  const call = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
  return call.body as Reply;
}

const shown = (reply: Reply) => JSON.stringify(reply.blocks ?? []);

async function vaultsOf(principalKey: string) {
  const vaults = [];
  for await (const v of h.anthropic.beta.vaults.list({ include_archived: true })) {
    if (v.metadata[PRINCIPAL_METADATA_KEY] === principalKey) vaults.push(v);
  }
  return vaults;
}

describe('/agent help and bad input', () => {
  test('/agent help answers privately with the commands', async () => {
    const reply = await replyTo('U_ALICE', 'help');
    expect(reply.response_type).toBe('ephemeral');
    expect(shown(reply)).toContain('/agent status');
    expect(shown(reply)).toContain('/agent help');
  });

  test('/agent with no text answers with help', async () => {
    expect(shown(await replyTo('U_ALICE', ''))).toContain('/agent status');
  });

  test('an unknown subcommand answers with help and names what it did not understand', async () => {
    const reply = await replyTo('U_ALICE', 'frobnicate the <!channel>');
    expect(reply.response_type).toBe('ephemeral');
    expect(shown(reply)).toContain("I don't know `/agent frobnicate`");
    expect(shown(reply)).toContain('/agent status');
  });

  test('10,000 characters of text get a clear private refusal and create nothing', async () => {
    const before = h.sandbox.managedAgents.requests.length;
    const reply = await replyTo('U_BOB', `status ${'x'.repeat(9993)}`);
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('10,000 characters');
    expect(h.sandbox.managedAgents.requests.length).toBe(before);
    expect(await h.store.vaultMappings.get(`T:${h.sandbox.slack.teamId}:U_BOB`)).toBeUndefined();
  });
});

describe('/agent status', () => {
  test('for a new user: shows their principal, creates their vault naming them, and shows no connections', async () => {
    const teamId = h.sandbox.slack.teamId;
    const reply = await replyTo('U_ALICE', 'status');
    expect(reply.response_type).toBe('ephemeral');
    const key = `T:${teamId}:U_ALICE`;
    const [vault, ...others] = await vaultsOf(key);
    expect(others).toEqual([]);
    expect(vault?.metadata).toMatchObject({
      [PRINCIPAL_METADATA_KEY]: key,
      slack_team_id: teamId,
      slack_user_id: 'U_ALICE',
    });
    expect(shown(reply)).toContain('<@U_ALICE>');
    expect(shown(reply)).toContain(teamId);
    expect(shown(reply)).toContain(`\`${vault?.id}\` (created for you just now)`);
    expect(shown(reply)).toContain('*Connections:* none yet.');
    const audit = await h.store.audit.byPrincipal(key);
    expect(audit.filter((r) => r.action === 'vault.created')).toEqual([
      expect.objectContaining({ outcome: 'success', target: vault?.id }),
    ]);
  });

  test('a second status finds the same vault and creates nothing', async () => {
    await replyTo('U_ADMIN', 'status');
    const creates = h.sandbox.managedAgents.requests.filter(
      (r) => r.method === 'POST' && r.path === '/v1/vaults',
    ).length;
    const reply = await replyTo('U_ADMIN', 'status');
    expect(shown(reply)).toContain('(since ');
    expect(
      h.sandbox.managedAgents.requests.filter((r) => r.method === 'POST' && r.path === '/v1/vaults').length,
    ).toBe(creates);
  });

  test('lists the credentials in the vault as connections', async () => {
    const key = `T:${h.sandbox.slack.teamId}:U_ALICE`;
    await replyTo('U_ALICE', 'status');
    const [vault] = await vaultsOf(key);
    if (!vault) throw new Error('no vault');
    await h.anthropic.beta.vaults.credentials.create(vault.id, {
      auth: {
        type: 'static_bearer',
        mcp_server_url: 'https://mcp.example.test/mcp',
        token: 'canary-static-token-77',
      },
    });
    await h.anthropic.beta.vaults.credentials.create(vault.id, {
      display_name: 'Notion',
      auth: {
        type: 'static_bearer',
        mcp_server_url: 'https://mcp.notion.example.test/mcp',
        token: 'canary-static-token-78',
      },
    });
    const reply = await replyTo('U_ALICE', 'status');
    // By name (issue 20): the connector's, else the server's host; never a bare MCP URL.
    expect(shown(reply)).toContain('*Notion* (with a token, since ');
    expect(shown(reply)).toContain('*mcp.example.test* (with a token, since ');
    expect(shown(reply)).not.toContain('https://');
    expect(JSON.stringify(h.sandbox.slack.calls)).not.toContain('canary-static-token-77');
  });

  test('when the response_url has expired the reply arrives as an ephemeral message instead', async () => {
    const slack = h.sandbox.slack;
    const responseUrl = slack.newResponseUrl({ userId: 'U_ALICE' });
    slack.expireResponseUrl(responseUrl);
    const body = slashCommandBody(slack, {
      userId: 'U_ALICE',
      text: 'status',
      command: '/agent',
      channel: slack.channel('general'),
      responseUrl,
      triggerId: slack.newTriggerId({ userId: 'U_ALICE' }),
    });
    expect((await h.driver.send({ body, contentType: 'application/x-www-form-urlencoded' })).status).toBe(
      200,
    );
    const ephemeral = await slack.waitFor('chat.postEphemeral');
    expect(ephemeral.body).toMatchObject({ user: 'U_ALICE' });
    expect(JSON.stringify(ephemeral.body.blocks)).toContain('Your Deputy status');
  });
});
