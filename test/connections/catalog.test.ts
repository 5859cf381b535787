import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  CatalogError,
  type Connector,
  loadCatalogFile,
  mergeCatalog,
  unavailableReason,
} from '../../src/connections/catalog.js';
import { DEFAULT_CONNECTORS_FILE } from '../../src/runtime.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deputy-catalog-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function catalogFrom(yaml: string): Promise<Connector[]> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, yaml);
  return loadCatalogFile(file, { TEST_ID: 'client-123', TEST_SECRET: 'canary-client-secret' });
}

async function problemsOf(yaml: string): Promise<string[]> {
  try {
    await catalogFrom(yaml);
  } catch (error) {
    if (error instanceof CatalogError) return error.problems;
    throw error;
  }
  throw new Error('expected a CatalogError');
}

describe('connector catalog', () => {
  test('the shipped catalog has Notion, Linear and Atlassian over MCP OAuth, GitHub and Slack as pre-registered clients', async () => {
    const connectors = await loadCatalogFile(DEFAULT_CONNECTORS_FILE, {
      GITHUB_CLIENT_ID: 'gh-id',
      GITHUB_CLIENT_SECRET: 'gh-secret',
    });
    expect(connectors.map((c) => [c.id, c.auth.type])).toEqual([
      ['notion', 'mcp_oauth'],
      ['linear', 'mcp_oauth'],
      ['atlassian', 'mcp_oauth'],
      ['github', 'oauth_client'],
      ['slack', 'oauth_client'],
    ]);
    const [github, slack] = connectors.slice(3);
    expect(github?.auth).toMatchObject({
      clientId: 'gh-id',
      clientSecret: 'gh-secret',
      tokenEndpointAuth: 'client_secret_post',
      revocation: { style: 'github_grant', url: 'https://api.github.com' },
    });
    expect(github && unavailableReason(github)).toBeUndefined();
    expect(slack?.auth).toMatchObject({
      scopeParameter: 'user_scope',
      tokenResponse: 'slack_user',
      revocation: { style: 'slack_auth_revoke', url: 'https://slack.com/api/auth.revoke' },
    });
    expect(slack && unavailableReason(slack)).toBe(
      'not set up yet (an admin needs to set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)',
    );
  });

  test('client credentials come from the environment through env: references', async () => {
    const [connector] = await catalogFrom(`
connectors:
  - id: tracker
    name: Tracker
    mcp_server_url: https://mcp.tracker.example/mcp
    auth:
      type: oauth_client
      authorization_url: https://tracker.example/oauth/authorize
      token_url: https://tracker.example/oauth/token
      client_id: env:TEST_ID
      client_secret: env:TEST_SECRET
`);
    expect(connector?.auth).toMatchObject({
      type: 'oauth_client',
      clientId: 'client-123',
      clientSecret: 'canary-client-secret',
    });
  });

  test('a secret written into the file is refused, and problems name their place without echoing values', async () => {
    const problems = await problemsOf(`
connectors:
  - id: Bad Id
    name: Leaky
    mcp_server_url: not-a-url
    auth:
      type: oauth_client
      authorization_url: https://x.example/a
      token_url: https://x.example/t
      client_id: env:TEST_ID
      client_secret: canary-inline-secret
`);
    expect(problems.join('\n')).toContain('connectors.0.id');
    expect(problems.join('\n')).toContain('connectors.0.mcp_server_url');
    expect(problems.join('\n')).toContain('connectors.0.auth.client_secret: must be env:VARIABLE_NAME');
    expect(problems.join('\n')).not.toContain('canary-inline-secret');
  });

  test('duplicate ids and unreadable YAML are refused', async () => {
    const entry = `  - id: same\n    name: Same\n    mcp_server_url: https://a.example/mcp\n    auth: { type: static_token }\n`;
    expect(await problemsOf(`connectors:\n${entry}${entry}`)).toEqual([
      'connectors.1.id: "same" appears twice',
    ]);
    expect((await problemsOf('connectors: [')).join()).toMatch(/cannot be read as YAML/);
  });

  test('the allow list adds servers the file does not already name, by id or URL', () => {
    const file: Connector[] = [
      {
        id: 'notion',
        name: 'Notion',
        mcpServerUrl: 'https://mcp.notion.com/mcp',
        auth: { type: 'mcp_oauth' },
        source: 'file',
      },
    ];
    const allowed: Connector[] = [
      {
        id: 'notion',
        name: 'Other Notion',
        mcpServerUrl: 'https://x.example/mcp',
        auth: { type: 'mcp_oauth' },
        source: 'allow_list',
      },
      {
        id: 'copy',
        name: 'Same URL',
        mcpServerUrl: 'https://mcp.notion.com/mcp',
        auth: { type: 'mcp_oauth' },
        source: 'allow_list',
      },
      {
        id: 'wiki',
        name: 'Wiki',
        mcpServerUrl: 'https://wiki.example/mcp',
        auth: { type: 'static_token' },
        source: 'allow_list',
      },
    ];
    expect(mergeCatalog(file, allowed).map((c) => c.id)).toEqual(['notion', 'wiki']);
  });
});
