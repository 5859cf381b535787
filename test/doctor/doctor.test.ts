import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { systemClock } from '../../src/clock.js';
import { type DoctorCheck, formatChecklist, runDoctor } from '../../src/doctor.js';
import { freePort } from '../../src/http.js';
import { type DynamoHandle, openStore, startEmbeddedDynamo } from '../../src/store/index.js';

/**
 * `npm run doctor` (issue 15, item 9) against the emulators: a good live configuration passes every
 * check, and each seeded misconfiguration fails the check that names it, with a fix, and no secret
 * in what is printed.
 */
let sandbox: Sandbox;
let dynamo: DynamoHandle;
let good: Record<string, string>;
const folder = mkdtempSync(join(tmpdir(), 'deputy-doctor-'));

beforeAll(async () => {
  const port = await freePort();
  const publicBaseUrl = `http://127.0.0.1:${port}`;
  sandbox = await startSandbox({ publicBaseUrl });
  dynamo = await startEmbeddedDynamo();
  await openStore(dynamo, 'doctor-', systemClock);
  // The AWS SDK reads credentials from the process; the local engine takes any.
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const environment = await new Anthropic(sandbox.anthropicOptions).beta.environments.create({
    name: 'doctor',
  });
  const catalog = join(folder, 'connectors.yml');
  writeFileSync(
    catalog,
    `connectors:\n  - id: notion\n    name: Notion\n    mcp_server_url: ${sandbox.providers.notion.mcpUrl}\n    auth:\n      type: mcp_oauth\n`,
  );
  good = {
    PORT: String(port),
    PUBLIC_BASE_URL: publicBaseUrl,
    SLACK_SIGNING_SECRET: sandbox.signingSecret,
    SLACK_BOT_TOKEN: sandbox.slack.botToken,
    SLACK_API_URL: sandbox.slackConnection.apiUrl ?? '',
    SLACK_CLIENT_ID: sandbox.signIn.clientId,
    SLACK_CLIENT_SECRET: sandbox.signIn.clientSecret,
    SLACK_OIDC_ISSUER: sandbox.signIn.issuer,
    ANTHROPIC_API_KEY: sandbox.anthropicOptions.apiKey,
    ANTHROPIC_BASE_URL: sandbox.anthropicOptions.baseURL,
    ANTHROPIC_ENVIRONMENT_ID: environment.id,
    ANTHROPIC_WEBHOOK_SIGNING_KEY: sandbox.webhookSigningKey,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: 'eu-west-1',
    DEPUTY_TABLE_PREFIX: 'doctor-',
    DEPUTY_CONNECTORS_FILE: catalog,
    // The emulators listen on loopback.
    DEPUTY_ALLOW_PRIVATE_NETWORK: 'true',
  };
});
afterAll(async () => {
  await sandbox.close();
  await dynamo.close();
});

const secretsOf = (environment: Record<string, string>) =>
  [
    'SLACK_SIGNING_SECRET',
    'SLACK_BOT_TOKEN',
    'SLACK_CLIENT_SECRET',
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_WEBHOOK_SIGNING_KEY',
  ].flatMap((name) => (environment[name] ? [environment[name]] : []));

function statusOf(checks: DoctorCheck[], name: string): DoctorCheck | undefined {
  return checks.find((check) => check.name === name);
}

test('a good live configuration passes every check', async () => {
  const checks = await runDoctor({ environment: good, timeoutMs: 5_000 });
  expect(checks.filter((c) => c.status !== 'pass')).toEqual([]);
  expect(checks.map((c) => c.name)).toEqual([
    'Configuration',
    'Slack signing secret',
    'Slack bot token and scopes',
    'Sign in with Slack',
    'Anthropic API key and Managed Agents access',
    'Managed Agents environment',
    'Webhook signing key',
    'PUBLIC_BASE_URL reaches this process',
    'DynamoDB tables',
    'Connector catalog',
    'Connector notion',
  ]);
  expect(formatChecklist(checks)).toMatch(/Ready\.\n$/);
});

describe('each misconfiguration fails the check that names it, with a fix and no secret printed', () => {
  const cases: Array<[string, string, () => Record<string, string>]> = [
    [
      'a variable with a bad value (its value never echoed)',
      'Configuration',
      () => ({ SLACK_BOT_TOKEN: 'xoxp-a-user-token-not-a-bot-token' }),
    ],
    [
      'a revoked bot token',
      'Slack bot token and scopes',
      () => ({ SLACK_BOT_TOKEN: 'xoxb-1-revoked-token-value' }),
    ],
    [
      'a signing secret of the wrong shape',
      'Slack signing secret',
      () => ({ SLACK_SIGNING_SECRET: 'not-a-slack-signing-secret' }),
    ],
    [
      'no Sign in with Slack client',
      'Sign in with Slack',
      () => ({ SLACK_CLIENT_ID: '', SLACK_CLIENT_SECRET: '' }),
    ],
    [
      'an issuer that publishes no OpenID metadata',
      'Sign in with Slack',
      () => ({ SLACK_OIDC_ISSUER: sandbox.anthropicOptions.baseURL }),
    ],
    [
      'an Anthropic key the API refuses',
      'Anthropic API key and Managed Agents access',
      () => ({ ANTHROPIC_API_KEY: 'sk-ant-wrong-key-0000' }),
    ],
    ['no environment id', 'Managed Agents environment', () => ({ ANTHROPIC_ENVIRONMENT_ID: '' })],
    [
      'an environment that does not exist',
      'Managed Agents environment',
      () => ({ ANTHROPIC_ENVIRONMENT_ID: 'env_nothere' }),
    ],
    [
      'a webhook key of the wrong shape',
      'Webhook signing key',
      () => ({ ANTHROPIC_WEBHOOK_SIGNING_KEY: 'whsec_c2hvcnQ=' }),
    ],
    [
      'a public URL that leads elsewhere',
      'PUBLIC_BASE_URL reaches this process',
      () => ({ PUBLIC_BASE_URL: sandbox.slack.url }),
    ],
    ['tables not yet created', 'DynamoDB tables', () => ({ DEPUTY_TABLE_PREFIX: 'never-created-' })],
    [
      'a connector whose server publishes no OAuth metadata',
      'Connector broken',
      () => {
        const catalog = join(folder, 'broken.yml');
        writeFileSync(
          catalog,
          `connectors:\n  - id: broken\n    name: Broken\n    mcp_server_url: ${sandbox.slack.url}/mcp\n    auth:\n      type: mcp_oauth\n`,
        );
        return { DEPUTY_CONNECTORS_FILE: catalog };
      },
    ],
  ];
  test.each(cases)('%s', async (_what, name, change) => {
    const environment = { ...good, ...change() };
    for (const [key, value] of Object.entries(environment)) if (value === '') delete environment[key];
    const checks = await runDoctor({ environment, timeoutMs: 5_000 });
    const failed = checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.name)).toEqual([name]);
    expect(failed[0]?.fix).toEqual(expect.any(String));
    const printed = formatChecklist(checks);
    expect(printed).toMatch(/1 check failed\.\n$/);
    for (const secret of [...secretsOf(environment), ...secretsOf(good)])
      expect(printed).not.toContain(secret);
  });

  test('a token without the scopes manifest.yml asks for', async () => {
    const manifest = join(folder, 'manifest.yml');
    writeFileSync(
      manifest,
      readFileSync('manifest.yml', 'utf8').replace(/bot:\n/, 'bot:\n      - reactions:write\n'),
    );
    const checks = await runDoctor({ environment: good, timeoutMs: 5_000, manifestFile: manifest });
    const check = statusOf(checks, 'Slack bot token and scopes');
    expect(check).toEqual(
      expect.objectContaining({ status: 'fail', detail: expect.stringContaining('reactions:write') }),
    );
  });
});

test('npm run doctor exits 1 on a failure, prints the checklist and no secret', async () => {
  const environment = { ...good, ANTHROPIC_API_KEY: 'sk-ant-wrong-key-0000' };
  // Run beside this process's emulators (a synchronous spawn would stop them answering).
  const run = await new Promise<{ code: number | null; output: string; stdout: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/doctor.ts'],
      {
        env: {
          PATH: process.env.PATH,
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          ...environment,
        },
        timeout: 60_000,
      },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, output: `${stdout}${stderr}`, stdout }),
    );
  });
  expect(run.code).toBe(1);
  expect(run.stdout).toContain('✗ Anthropic API key and Managed Agents access');
  expect(run.stdout).toContain('fix:');
  for (const secret of secretsOf(environment)) expect(run.output).not.toContain(secret);
});
