import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { BetaEnvironment } from '@anthropic-ai/sdk/resources/beta/environments/environments';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { EnvironmentService } from '../../src/agents/environments.js';
import { systemClock } from '../../src/clock.js';
import type { Connector } from '../../src/connections/catalog.js';
import { runSetup } from '../../src/deployment-setup.js';
import { freePort } from '../../src/http.js';
import { createLogger } from '../../src/logger.js';
import { type DynamoHandle, openStore, type Store, startEmbeddedDynamo } from '../../src/store/index.js';
import { liveEnvironment } from '../support/live.js';

/**
 * `npm run setup` (issue 16, item 2) against the emulators: on an empty organisation it creates the
 * environment sessions run in, its network limited to exactly the allowed servers' hosts; run again
 * it changes nothing; a dry run changes nothing; and the hosts follow the allow list.
 */
let sandbox: Sandbox;
let dynamo: DynamoHandle;
let store: Store;
let live: Record<string, string>;
let anthropic: Anthropic;
const folder = mkdtempSync(join(tmpdir(), 'deputy-setup-'));

beforeAll(async () => {
  const port = await freePort();
  sandbox = await startSandbox({ publicBaseUrl: `http://127.0.0.1:${port}` });
  dynamo = await startEmbeddedDynamo();
  anthropic = new Anthropic(sandbox.anthropicOptions);
  // Two connectors on two hosts (the same emulator, by name and by address).
  const notion = new URL(sandbox.providers.notion.mcpUrl);
  const catalog = join(folder, 'connectors.yml');
  writeFileSync(
    catalog,
    [
      'connectors:',
      '  - id: notion',
      '    name: Notion',
      `    mcp_server_url: ${notion.href}`,
      '    auth:',
      '      type: mcp_oauth',
      '  - id: wiki',
      '    name: Wiki',
      `    mcp_server_url: http://localhost:${notion.port}/wiki/mcp`,
      '    auth:',
      '      type: mcp_oauth',
      '',
    ].join('\n'),
  );
  live = {
    ...liveEnvironment(sandbox, dynamo, { port, tablePrefix: 'setup-' }),
    DEPUTY_CONNECTORS_FILE: catalog,
  };
}, 60_000);
afterAll(async () => {
  await sandbox.close();
  await dynamo.close();
});

const environments = () => sandbox.managedAgents.environments();
const environmentWrites = () =>
  sandbox.managedAgents.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/environments'));
const networkOf = (environment: BetaEnvironment | undefined) =>
  environment?.config.type === 'cloud' ? environment.config.networking : undefined;

test('on an empty organisation: a dry run changes nothing; setup creates the environment limited to the allowed hosts; run again it changes nothing', async () => {
  const dry = await runSetup({ environment: live, dryRun: true, packageManagers: false });
  expect(dry.ok).toBe(true);
  expect(dry.lines.join('\n')).toContain('would create environment "deputy"');
  expect(dry.lines.join('\n')).toContain('would create DynamoDB tables');
  expect(environments()).toEqual([]);
  expect(environmentWrites()).toEqual([]);

  const first = await runSetup({ environment: live, dryRun: false, packageManagers: false });
  expect(first.lines.join('\n')).toContain('created environment "deputy"');
  expect(first.lines).toContain(`Set ANTHROPIC_ENVIRONMENT_ID=${first.environmentId} where Deputy runs.`);
  const [created, ...others] = environments();
  expect(others).toEqual([]);
  expect(created?.id).toBe(first.environmentId);
  expect(networkOf(created)).toEqual({
    type: 'limited',
    allowed_hosts: ['127.0.0.1', 'localhost'],
    allow_mcp_servers: true,
    allow_package_managers: false,
  });

  const writes = environmentWrites().length;
  const again = await runSetup({ environment: live, dryRun: false, packageManagers: false });
  expect(again.lines.join('\n')).toContain('is as it should be');
  expect(again.environmentId).toBe(first.environmentId);
  expect(environmentWrites()).toHaveLength(writes);
  expect(environments()).toHaveLength(1);
});

test('the allowed hosts follow the allow list and the package-manager choice; ANTHROPIC_ENVIRONMENT_ID names the one checked', async () => {
  store = await openStore(dynamo, 'setup-', systemClock);
  await store.allowList.add({
    id: 'tracker',
    name: 'Tracker',
    url: 'https://mcp.tracker.example/mcp',
    authType: 'mcp_oauth',
    addedBy: 'U_ADMIN',
    addedAt: '2026-11-30T00:00:00.000Z',
  });
  const [environment] = environments();
  const named = { ...live, ANTHROPIC_ENVIRONMENT_ID: environment?.id ?? '' };
  const dry = await runSetup({ environment: named, dryRun: true, packageManagers: true });
  expect(dry.lines.join('\n')).toContain(
    'allowed hosts 127.0.0.1, localhost → 127.0.0.1, localhost, mcp.tracker.example; package registries off → on',
  );
  expect(networkOf(environments()[0])).toMatchObject({ allow_package_managers: false });

  const updated = await runSetup({ environment: named, dryRun: false, packageManagers: true });
  expect(updated.lines.join('\n')).toContain('updated environment "deputy"');
  expect(updated.lines.join('\n')).not.toContain('Set ANTHROPIC_ENVIRONMENT_ID');
  expect(networkOf(environments()[0])).toEqual({
    type: 'limited',
    allowed_hosts: ['127.0.0.1', 'localhost', 'mcp.tracker.example'],
    allow_mcp_servers: true,
    allow_package_managers: true,
  });
});

test('after an allow-list change the configured environment’s hosts follow, and its other settings stay', async () => {
  const [environment] = environments();
  let catalog: Connector[] = [];
  const service = new EnvironmentService({
    anthropic,
    catalog: async () => catalog,
    logger: createLogger({ level: 'error' }),
    environmentId: environment?.id ?? '',
  });
  catalog = [
    {
      id: 'only',
      name: 'Only',
      mcpServerUrl: 'https://mcp.only.example/mcp',
      auth: { type: 'mcp_oauth' },
      source: 'allow_list',
    },
  ];
  await service.follow('test');
  expect(networkOf(environments()[0])).toEqual({
    type: 'limited',
    allowed_hosts: ['mcp.only.example'],
    allow_mcp_servers: true,
    allow_package_managers: true,
  });
  const writes = environmentWrites().length;
  await service.follow('test');
  expect(environmentWrites()).toHaveLength(writes);
});

test('--agent NAME makes a first agent once, as the first DEPUTY_ADMINS admin, with no servers; it needs an admin', async () => {
  const withAdmin = { ...live, DEPUTY_ADMINS: 'U_ADMIN' };
  expect(
    (await runSetup({ environment: live, dryRun: false, packageManagers: false, firstAgent: 'assistant' }))
      .lines,
  ).toContain('no agent created: set DEPUTY_ADMINS to say which admin creates it');
  const dry = await runSetup({
    environment: withAdmin,
    dryRun: true,
    packageManagers: false,
    firstAgent: 'assistant',
  });
  expect(dry.lines).toContain('would create agent assistant');
  expect(sandbox.managedAgents.agents().map((a) => a.name)).not.toContain('assistant');

  const made = await runSetup({
    environment: withAdmin,
    dryRun: false,
    packageManagers: false,
    firstAgent: 'assistant',
  });
  expect(made.ok).toBe(true);
  expect(made.lines).toContain('created agent assistant (no servers yet: /agent setup assistant)');
  const published = sandbox.managedAgents.agents().filter((a) => a.name === 'assistant');
  expect(published).toHaveLength(1);
  expect(published[0]?.mcp_servers).toEqual([]);
  const stored = await store.agents.get('assistant');
  expect(stored?.updatedBy).toBe(`T:${sandbox.slack.teamId}:U_ADMIN`);

  const again = await runSetup({
    environment: withAdmin,
    dryRun: false,
    packageManagers: false,
    firstAgent: 'assistant',
  });
  expect(again.lines).toContain('agent assistant exists (unchanged)');
  expect(sandbox.managedAgents.agents().filter((a) => a.name === 'assistant')).toHaveLength(1);
});

test('a configuration that is not valid is reported, and nothing is made', async () => {
  const report = await runSetup({
    environment: { ...live, ANTHROPIC_ENVIRONMENT_ID: 'not-an-env' },
    dryRun: false,
    packageManagers: false,
  });
  expect(report.ok).toBe(false);
  expect(report.lines.join('\n')).toContain('ANTHROPIC_ENVIRONMENT_ID');
});
