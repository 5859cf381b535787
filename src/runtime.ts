import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { WebClient } from '@slack/web-api';
import { AgentService } from './agents/agent-service.js';
import { type RunningApp, type SlackConnection, startDeputy, startSocketMode } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { type Clock, systemClock } from './clock.js';
import type { Config, StorageSettings } from './config.js';
import { type Connector, loadCatalogFile } from './connections/catalog.js';
import { ConnectFlowService } from './connections/connect-flow.js';
import { ConnectionsService } from './connections/connections-service.js';
import { createOutboundHttp } from './connections/oauth/outbound-http.js';
import { SlackConnectionNotices } from './connections/slack-notices.js';
import { freePort } from './http.js';
import { AdminDirectory } from './identity/admins.js';
import { createSlackSignIn, type SlackSignInSettings } from './identity/slack-sign-in.js';
import { type IdSource, randomIds } from './ids.js';
import type { Logger } from './logger.js';
import { embeddedMetricFormat, type Metrics, noMetrics } from './metrics.js';
import { type Sandbox, startSandbox } from './sandbox/index.js';
import { SlackDriver } from './sandbox/slack/driver.js';
import { WorkspaceWebClient } from './sandbox/workspace/web-client.js';
import type { Services } from './services.js';
import { ApprovalService } from './sessions/approvals.js';
import { RelayManager } from './sessions/relay.js';
import { SessionService } from './sessions/session-service.js';
import { type DynamoHandle, openDynamo, openStore, type Store } from './store/index.js';
import { VaultService } from './vaults/vault-service.js';

/** The catalog shipped with Deputy, used in live mode when DEPUTY_CONNECTORS_FILE is not set. */
export const DEFAULT_CONNECTORS_FILE = new URL('../connectors.yml', import.meta.url).pathname;

export interface ServiceParts {
  store: Store;
  anthropic: Anthropic;
  slack: SlackConnection;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  connectors: Connector[];
  /** DEPUTY_ADMINS: admins besides the workspace's admins and owners. */
  admins: string[];
  publicBaseUrl: string;
  allowPrivateNetwork: boolean;
  /** How long a provider may take to answer (default 10 s). */
  outboundTimeoutMs?: number;
  /** Where sessions run, and the agent `/agent run` uses when none is named. */
  environmentId?: string;
  defaultAgent?: string;
  /** Sign in with Slack; without it no connect flow can start. */
  signIn?: SlackSignInSettings;
  webhookSigningKey?: string;
  /** Where relay lag and the like go (default: nowhere). */
  metrics?: Metrics;
}

/** Wires the services from their parts. The one place that decides which implementation is used. */
export function buildServices(parts: ServiceParts): Services {
  const { store, anthropic, clock, ids, logger, publicBaseUrl } = parts;
  const audit = new AuditLog({ store, clock, ids, logger });
  const vaults = new VaultService({ store, anthropic, audit, clock, ids, logger });
  const http = createOutboundHttp({
    allowPrivateNetwork: parts.allowPrivateNetwork,
    ...(parts.outboundTimeoutMs ? { timeoutMs: parts.outboundTimeoutMs } : {}),
  });
  const slack = new WebClient(parts.slack.botToken, {
    ...(parts.slack.apiUrl ? { slackApiUrl: parts.slack.apiUrl } : {}),
    logger,
  });
  const admins = new AdminDirectory({ slack, admins: parts.admins, clock, logger });
  const agents = new AgentService({ store, anthropic, slack, admins, audit, clock, logger });
  const connections = new ConnectionsService({
    store,
    anthropic,
    vaults,
    audit,
    clock,
    ids,
    logger,
    http,
    connectors: parts.connectors,
    publicBaseUrl,
    drift: agents,
  });
  const notices = new SlackConnectionNotices({ slack, connections, logger });
  const connectFlows = new ConnectFlowService({
    store,
    connections,
    ...(parts.signIn ? { signIn: createSlackSignIn(parts.signIn) } : {}),
    http,
    notices,
    audit,
    clock,
    ids,
    logger,
    publicBaseUrl,
  });
  const approvals = new ApprovalService({ store, anthropic, slack, audit, clock, ids, logger });
  const relays = new RelayManager({
    store,
    anthropic,
    slack,
    approvals,
    connections,
    clock,
    ids,
    logger,
    metrics: parts.metrics ?? noMetrics,
  });
  const sessions = new SessionService({
    store,
    anthropic,
    slack,
    agents,
    connections,
    vaults,
    relays,
    audit,
    clock,
    ids,
    logger,
    ...(parts.environmentId ? { environmentId: parts.environmentId } : {}),
    ...(parts.defaultAgent ? { defaultAgent: parts.defaultAgent } : {}),
  });
  return {
    store,
    anthropic,
    slack,
    http,
    sessions,
    approvals,
    relays,
    vaults,
    connections,
    notices,
    connectFlows,
    admins,
    agents,
    audit,
    clock,
    ids,
    logger,
    settings: {
      publicBaseUrl,
      allowPrivateNetwork: parts.allowPrivateNetwork,
      ...(parts.webhookSigningKey ? { webhookSigningKey: parts.webhookSigningKey } : {}),
    },
  };
}

export interface Runtime {
  readonly deputy: RunningApp;
  /** Present in sandbox mode: the emulators the app is wired to. */
  readonly sandbox?: Sandbox;
  /** Sandbox mode: the browser page that plays the Slack workspace (what `npm start` prints). */
  readonly workspaceUrl?: string;
  readonly services: Services;
  close(): Promise<void>;
}

/** Starts everything the configuration asks for: storage, the sandbox when there are no credentials, and the app. */
export async function startRuntime(
  config: Config,
  logger: Logger,
  options: {
    clock?: Clock;
    ids?: IdSource;
    socketMode?: boolean;
    environment?: NodeJS.ProcessEnv;
    /** Storage to use instead of the configured one (tests: a fresh in-memory engine). */
    dynamo?: DynamoHandle;
    outboundTimeoutMs?: number;
    /** Default: CloudWatch Embedded Metric Format on stdout when live; none in the sandbox. */
    metrics?: Metrics;
  } = {},
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const environment = options.environment ?? process.env;
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    // Links in Slack messages need the public URL before the server listens, so port 0 is chosen now.
    const port = config.port === 0 && !environment.PUBLIC_BASE_URL ? await freePort() : config.port;
    const publicBaseUrl = config.port === port ? config.publicBaseUrl : `http://127.0.0.1:${port}`;
    const sandbox =
      config.mode === 'sandbox'
        ? // The workspace page sits next to the app's port, so its address stays the same between runs.
          await startSandbox({
            logger,
            clock,
            publicBaseUrl,
            slackPort: config.port > 0 && config.port < 65535 ? config.port + 1 : 0,
          })
        : undefined;
    if (sandbox) opened.push(sandbox);
    const slack: SlackConnection = sandbox?.slackConnection ?? liveSlack(config);
    const anthropic = new Anthropic(sandbox?.anthropicOptions ?? liveAnthropic(config));
    const connectors = config.connectorsFile
      ? await loadCatalogFile(config.connectorsFile, environment)
      : (sandbox?.connectors ?? (await loadCatalogFile(DEFAULT_CONNECTORS_FILE, environment)));
    const dynamo: DynamoHandle = options.dynamo ?? (await openDynamo(await storageFor(config, sandbox)));
    if (!options.dynamo) opened.push(dynamo);
    const store = await openStore(dynamo, config.storage.tablePrefix);
    const services = buildServices({
      store,
      anthropic,
      slack,
      clock,
      ids,
      logger,
      connectors,
      admins: config.admins,
      ...(config.defaultAgent ? { defaultAgent: config.defaultAgent } : {}),
      ...(await environmentFor(config, anthropic, sandbox)),
      publicBaseUrl,
      allowPrivateNetwork: config.allowPrivateNetwork,
      ...(options.outboundTimeoutMs ? { outboundTimeoutMs: options.outboundTimeoutMs } : {}),
      ...signInSettings(config, sandbox),
      ...webhookKey(config, sandbox),
      metrics:
        options.metrics ??
        (config.mode === 'live'
          ? embeddedMetricFormat({ clock, write: (line) => process.stdout.write(line) })
          : noMetrics),
    });
    // Closed in reverse: the server stops and drains first, then the periodic work, then the relays
    // release their leases so another replica resumes them from their cursors, then storage.
    opened.push({ close: () => services.relays.close() });
    // Held tool calls nobody decided expire into denies; sessions another replica let go are adopted.
    const sweep = setInterval(() => {
      void services.approvals.expireDue('sweep').catch(() => 0);
      void services.relays.resumeActive().catch(() => 0);
    }, SWEEP_MS);
    sweep.unref();
    opened.push({ close: async () => clearInterval(sweep) });
    const deputy = options.socketMode
      ? await startSocketMode({ slack: { ...slack, appToken: socketModeToken(config) }, services })
      : await startDeputy({
          slack,
          services,
          port,
          // Live deployments run in containers behind a load balancer; the sandbox stays on loopback.
          host: config.mode === 'live' ? '0.0.0.0' : '127.0.0.1',
        });
    opened.push(deputy);
    const workspace = sandbox ? openWorkspacePage(sandbox, deputy.url, logger) : undefined;
    if (workspace) opened.push({ close: async () => workspace.close() });
    // Sessions a previous process was relaying go on from their cursors.
    await services.relays.resumeActive();
    return {
      deputy,
      sandbox,
      ...(workspace ? { workspaceUrl: workspace.url } : {}),
      services,
      close: () => closeAll(opened),
    };
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

/** The sandbox's Slack, in a browser: people's clicks reach the app as signed requests from the driver. */
function openWorkspacePage(sandbox: Sandbox, appUrl: string, logger: Logger): WorkspaceWebClient {
  const driver = new SlackDriver({ appUrl, signingSecret: sandbox.signingSecret, slack: sandbox.slack });
  const page = new WorkspaceWebClient({ slack: sandbox.slack, driver, logger });
  sandbox.slack.serveWebClient(page);
  return page;
}

async function closeAll(resources: Array<{ close(): Promise<void> }>): Promise<void> {
  for (const resource of [...resources].reverse()) await resource.close().catch(() => undefined);
}

/**
 * The sandbox's emulators keep nothing between runs, so its app data must not either (a vault id
 * remembered from the last run would name a vault the new emulator never made): it lives in its own
 * folder under the data directory, cleared at start.
 */
async function storageFor(config: Config, sandbox: Sandbox | undefined): Promise<StorageSettings> {
  if (!sandbox || config.storage.kind !== 'embedded') return config.storage;
  const dataDir = join(config.storage.dataDir, 'sandbox');
  await rm(dataDir, { recursive: true, force: true });
  return { ...config.storage, dataDir };
}

/** How often undecided approvals are checked for expiry and sessions without a relay are adopted. */
const SWEEP_MS = 30_000;

/** Sessions need an environment: the configured one, or one the sandbox makes. */
async function environmentFor(config: Config, anthropic: Anthropic, sandbox: Sandbox | undefined) {
  if (config.anthropic?.environmentId) return { environmentId: config.anthropic.environmentId };
  if (!sandbox) return {};
  const environment = await anthropic.beta.environments.create({ name: `deputy-sandbox-${Date.now()}` });
  return { environmentId: environment.id };
}

function signInSettings(config: Config, sandbox: Sandbox | undefined): { signIn?: SlackSignInSettings } {
  if (sandbox) return { signIn: sandbox.signIn };
  if (!config.slack?.clientId || !config.slack.clientSecret) return {};
  return {
    signIn: {
      issuer: config.slack.oidcIssuer,
      clientId: config.slack.clientId,
      clientSecret: config.slack.clientSecret,
      allowInsecureIssuer: config.allowPrivateNetwork,
    },
  };
}

function webhookKey(config: Config, sandbox: Sandbox | undefined): { webhookSigningKey?: string } {
  const key = sandbox?.webhookSigningKey ?? config.anthropic?.webhookSigningKey;
  return key ? { webhookSigningKey: key } : {};
}

function liveSlack(config: Config): SlackConnection {
  if (!config.slack) throw new Error('live mode without Slack settings');
  return {
    signingSecret: config.slack.signingSecret,
    botToken: config.slack.botToken,
    apiUrl: config.slack.apiUrl,
  };
}

function liveAnthropic(config: Config): ConstructorParameters<typeof Anthropic>[0] {
  if (!config.anthropic) throw new Error('live mode without Anthropic settings');
  return {
    apiKey: config.anthropic.apiKey,
    ...(config.anthropic.baseUrl ? { baseURL: config.anthropic.baseUrl } : {}),
  };
}

function socketModeToken(config: Config): string {
  if (config.mode !== 'live' || !config.slack?.appToken) {
    throw new Error(
      'Socket Mode needs a live workspace: set SLACK_APP_TOKEN with the other Slack and Anthropic credentials',
    );
  }
  return config.slack.appToken;
}
