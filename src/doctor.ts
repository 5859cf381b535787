import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { parse } from 'yaml';
import { type Config, ConfigError, loadConfig } from './config.js';
import { type Connector, loadCatalogFile, unavailableReason } from './connections/catalog.js';
import { discoverMcpAuthorization } from './connections/oauth/discovery.js';
import { createSlackSignIn } from './identity/slack-sign-in.js';
import { createOutboundHttp } from './net/outbound-http.js';
import { redactText } from './redact.js';
import { DEFAULT_CONNECTORS_FILE } from './runtime.js';
import { describeBotToken, slackErrorCode } from './slack/client.js';
import { connectDynamo, missingTables, tableNames } from './store/index.js';

/**
 * `npm run doctor`: checks a live configuration before anyone uses it, each check against the real
 * service it names, and says for each failure what to change. It reads the environment the way
 * the app does, changes nothing anywhere, and never prints a secret.
 */

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  /** What was found (never a secret value). */
  detail: string;
  /** What to change, for a warning or a failure. */
  fix?: string;
}

export interface DoctorOptions {
  environment: NodeJS.ProcessEnv;
  /** How long any one remote check may take (default 10 s). */
  timeoutMs?: number;
  /** The app manifest whose bot scopes the token must carry (default: the repository's manifest.yml). */
  manifestFile?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MANIFEST_FILE = new URL('../manifest.yml', import.meta.url).pathname;

/** Runs every check; a check that cannot run because an earlier one failed is not reported. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let config: Config;
  try {
    config = loadConfig(options.environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [
      {
        name: 'Configuration',
        status: 'fail',
        detail: error.problems.join('; '),
        fix: 'Correct the variables named; the configuration table in the README says what each takes.',
      },
    ];
  }
  if (config.mode !== 'live' || !config.slack || !config.anthropic) {
    return [
      {
        name: 'Configuration',
        status: 'fail',
        detail: 'no live workspace is configured (this environment would run the sandbox)',
        fix: 'Set SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY, with the rest of the configuration table.',
      },
    ];
  }
  checks.push({ name: 'Configuration', status: 'pass', detail: 'every variable set is valid' });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const run = async (name: string, check: () => Promise<Omit<DoctorCheck, 'name'>>) => {
    try {
      checks.push({ name, ...(await check()) });
    } catch (error) {
      checks.push({
        name,
        status: 'fail',
        detail: describe(error),
        fix: 'See the detail; run the doctor again.',
      });
    }
  };
  const slack = config.slack;
  const anthropicSettings = config.anthropic;

  await run('Slack signing secret', async () =>
    /^[0-9a-f]{32}$/.test(slack.signingSecret)
      ? { status: 'pass', detail: 'has the shape of a Slack signing secret' }
      : {
          status: 'fail',
          detail: 'is not 32 hexadecimal characters, the shape Slack gives every signing secret',
          fix: 'Copy SLACK_SIGNING_SECRET from the app’s Basic Information page, under App Credentials.',
        },
  );
  await run('Slack bot token and scopes', () => checkSlackToken(config, options, timeoutMs));
  await run('Sign in with Slack', () => checkSignIn(config));
  const anthropic = new Anthropic({
    apiKey: anthropicSettings.apiKey,
    ...(anthropicSettings.baseUrl ? { baseURL: anthropicSettings.baseUrl } : {}),
    maxRetries: 0,
    timeout: timeoutMs,
  });
  await run('Anthropic API key and Managed Agents access', () => checkManagedAgents(anthropic));
  // The environment is looked up with the key: with a key refused, there is nothing to learn.
  if (checks.at(-1)?.status === 'pass')
    await run('Managed Agents environment', () =>
      checkEnvironment(anthropic, anthropicSettings.environmentId),
    );
  await run('Webhook signing key', async () => checkWebhookKey(anthropicSettings.webhookSigningKey));
  await run('PUBLIC_BASE_URL reaches this process', () => checkPublicUrl(config, timeoutMs));
  await run('DynamoDB tables', () => checkTables(config));
  let connectors: Connector[] = [];
  await run('Connector catalog', async () => {
    connectors = await loadCatalogFile(config.connectorsFile ?? DEFAULT_CONNECTORS_FILE, options.environment);
    return { status: 'pass', detail: `${connectors.length} connector${connectors.length === 1 ? '' : 's'}` };
  });
  const http = createOutboundHttp({ allowPrivateNetwork: config.allowPrivateNetwork, timeoutMs });
  for (const connector of connectors) {
    await run(`Connector ${connector.id}`, () => checkConnector(connector, http));
  }
  // Whatever a service echoed back, no configured secret leaves in the report.
  return checks.map((check) => ({
    ...check,
    detail: redactText(check.detail, config.secrets),
    ...(check.fix ? { fix: redactText(check.fix, config.secrets) } : {}),
  }));
}

/** The checklist as printed: one line per check, and a fix under each that needs one. */
export function formatChecklist(checks: DoctorCheck[]): string {
  const mark: Record<CheckStatus, string> = { pass: '✓', warn: '!', fail: '✗' };
  const lines = checks.flatMap((check) => [
    `${mark[check.status]} ${check.name}: ${check.detail}`,
    ...(check.fix && check.status !== 'pass' ? [`    fix: ${check.fix}`] : []),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed === 0 ? 'Ready.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
  return `${lines.join('\n')}\n`;
}

async function checkSlackToken(
  config: Config,
  options: DoctorOptions,
  timeoutMs: number,
): Promise<Omit<DoctorCheck, 'name'>> {
  const slack = config.slack;
  if (!slack) throw new Error('no Slack settings');
  let answer: Awaited<ReturnType<typeof describeBotToken>>;
  try {
    answer = await describeBotToken(slack, timeoutMs);
  } catch (error) {
    const code = slackErrorCode(error);
    return {
      status: 'fail',
      detail: code ? `Slack refused the token (${code})` : describe(error),
      fix: code
        ? 'Install the app to the workspace and copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN.'
        : 'Check that this machine reaches Slack (or SLACK_API_URL).',
    };
  }
  const granted = new Set(answer.scopes);
  const missing = manifestBotScopes(options.manifestFile ?? MANIFEST_FILE).filter((s) => !granted.has(s));
  if (missing.length > 0) {
    return {
      status: 'fail',
      detail: `the token works for workspace ${answer.teamId} but lacks scopes manifest.yml asks for: ${missing.join(', ')}`,
      fix: 'Update the app from manifest.yml (App Manifest page), then reinstall it to the workspace so the token carries the new scopes.',
    };
  }
  return { status: 'pass', detail: `workspace ${answer.teamId}, every scope manifest.yml asks for` };
}

async function checkSignIn(config: Config): Promise<Omit<DoctorCheck, 'name'>> {
  const slack = config.slack;
  if (!slack?.clientId || !slack.clientSecret) {
    return {
      status: 'fail',
      detail: 'SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are not both set, so no Connect button can start',
      fix: 'Copy the Client ID and Client Secret from the app’s Basic Information page.',
    };
  }
  // Discovery of the issuer's metadata, checked by the OpenID client the connect flow uses.
  await createSlackSignIn({
    issuer: slack.oidcIssuer,
    clientId: slack.clientId,
    clientSecret: slack.clientSecret,
    allowInsecureIssuer: config.allowPrivateNetwork,
  }).authorizationUrl({
    redirectUri: `${config.publicBaseUrl}/auth/slack/callback`,
    state: 'doctor',
    nonce: 'doctor',
  });
  return { status: 'pass', detail: `${slack.oidcIssuer} publishes valid OpenID metadata` };
}

async function checkManagedAgents(anthropic: Anthropic): Promise<Omit<DoctorCheck, 'name'>> {
  try {
    await anthropic.beta.agents.list({ limit: 1 });
    return { status: 'pass', detail: 'the key lists agents' };
  } catch (error) {
    if (error instanceof Anthropic.AuthenticationError)
      return {
        status: 'fail',
        detail: 'the Anthropic API refused the key (401)',
        fix: 'Create an API key in the Claude Console and set it as ANTHROPIC_API_KEY.',
      };
    if (error instanceof Anthropic.PermissionDeniedError || error instanceof Anthropic.NotFoundError)
      return {
        status: 'fail',
        detail: `the key cannot use Managed Agents (${error.status})`,
        fix: 'Use a key from an organization with Managed Agents access.',
      };
    throw error;
  }
}

async function checkEnvironment(
  anthropic: Anthropic,
  environmentId: string | undefined,
): Promise<Omit<DoctorCheck, 'name'>> {
  if (!environmentId)
    return {
      status: 'fail',
      detail: 'ANTHROPIC_ENVIRONMENT_ID is not set, so /agent run cannot start a session',
      fix: 'Create an environment in the Claude Console (or with the API) and set its env_… id.',
    };
  try {
    const environment = await anthropic.beta.environments.retrieve(environmentId);
    return { status: 'pass', detail: `${environment.id} exists` };
  } catch (error) {
    if (error instanceof Anthropic.NotFoundError)
      return {
        status: 'fail',
        detail: `no environment ${environmentId} is visible to this key`,
        fix: 'Set ANTHROPIC_ENVIRONMENT_ID to an environment of the key’s organization.',
      };
    throw error;
  }
}

function checkWebhookKey(key: string | undefined): Omit<DoctorCheck, 'name'> {
  if (!key)
    return {
      status: 'warn',
      detail:
        'not set: Managed Agents webhooks are refused, and sessions are followed by their event streams only',
      fix: 'Add a webhook endpoint at PUBLIC_BASE_URL/webhooks/anthropic in the Claude Console and set its whsec_… key.',
    };
  const secret = key.slice('whsec_'.length);
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(secret) ? Buffer.from(secret, 'base64').length : 0;
  return bytes >= 24
    ? { status: 'pass', detail: 'has the shape of a webhook signing key' }
    : {
        status: 'fail',
        detail: 'is not whsec_ followed by a base64 secret of at least 24 bytes',
        fix: 'Copy the signing key of the webhook endpoint from the Claude Console.',
      };
}

/**
 * Serves a one-time answer on PORT and asks for it through PUBLIC_BASE_URL: the public URL leads to
 * this machine and port. With Deputy already listening there, its own /healthz must answer instead.
 */
async function checkPublicUrl(config: Config, timeoutMs: number): Promise<Omit<DoctorCheck, 'name'>> {
  const healthz = new URL('/healthz', config.publicBaseUrl);
  const nonce = randomBytes(12).toString('hex');
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, doctor: nonce }));
  });
  const listening = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(false) : reject(error),
    );
    server.listen(config.port, () => resolve(true));
  });
  try {
    const response = await fetch(healthz, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const body = await response.text();
    if (listening && body.includes(nonce))
      return { status: 'pass', detail: `${healthz.origin} reaches port ${config.port} here` };
    if (!listening && response.ok && /"ok":true/.test(body))
      return {
        status: 'pass',
        detail: `${healthz.origin} reaches the Deputy running on port ${config.port}`,
      };
    return {
      status: 'fail',
      detail: `${healthz.href} answered HTTP ${response.status}, but not from ${listening ? 'this process' : 'Deputy'}`,
      fix: `Point PUBLIC_BASE_URL (through the load balancer or tunnel) at port ${config.port} of this machine.`,
    };
  } catch (error) {
    return {
      status: 'fail',
      detail: `${healthz.href} could not be reached: ${describe(error)}`,
      fix: `Point PUBLIC_BASE_URL (through the load balancer or tunnel) at port ${config.port} of this machine.`,
    };
  } finally {
    if (listening) await new Promise((resolve) => server.close(resolve));
  }
}

async function checkTables(config: Config): Promise<Omit<DoctorCheck, 'name'>> {
  const storage = config.storage;
  if (storage.kind === 'embedded')
    return {
      status: 'warn',
      detail: `embedded storage in ${storage.dataDir}: one machine only, no backups`,
      fix: 'Set AWS_REGION (and the CDK stack’s tables) for a deployment.',
    };
  const dynamo = connectDynamo({
    region: storage.region,
    ...(storage.endpoint ? { endpoint: storage.endpoint } : {}),
  });
  try {
    const missing = await missingTables(dynamo.client, tableNames(storage.tablePrefix));
    if (missing.length === 0) return { status: 'pass', detail: 'the main and audit tables exist' };
    return {
      status: 'fail',
      detail: `missing: ${missing.join(', ')}`,
      fix: 'Deploy the CDK stack in infra/ (it creates the tables), or check DEPUTY_TABLE_PREFIX.',
    };
  } finally {
    await dynamo.close();
  }
}

async function checkConnector(
  connector: Connector,
  http: ReturnType<typeof createOutboundHttp>,
): Promise<Omit<DoctorCheck, 'name'>> {
  const unavailable = unavailableReason(connector);
  if (unavailable)
    return { status: 'fail', detail: unavailable, fix: 'Set the variables the catalog names for it.' };
  switch (connector.auth.type) {
    case 'mcp_oauth': {
      const found = await discoverMcpAuthorization(http, connector.mcpServerUrl);
      return {
        status: 'pass',
        detail: `${connector.mcpServerUrl} names ${found.authorizationServer.issuer}, with PKCE`,
      };
    }
    case 'oauth_client':
      for (const url of [connector.auth.authorizationUrl, connector.auth.tokenUrl, connector.mcpServerUrl])
        await http.assertSafeUrl(url);
      return { status: 'pass', detail: 'its endpoints pass the outbound policy' };
    case 'static_token':
      await http.assertSafeUrl(connector.mcpServerUrl);
      return { status: 'pass', detail: 'people paste a token; its server passes the outbound policy' };
  }
}

function manifestBotScopes(file: string): string[] {
  const manifest = parse(readFileSync(file, 'utf8')) as { oauth_config?: { scopes?: { bot?: unknown } } };
  const bot = manifest.oauth_config?.scopes?.bot;
  return Array.isArray(bot) ? bot.filter((s): s is string => typeof s === 'string') : [];
}

function describe(error: unknown): string {
  return redactText(error instanceof Error ? error.message : String(error)).slice(0, 300);
}
