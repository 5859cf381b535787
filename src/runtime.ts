import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { AdminAccess } from './agents/admin-access.js';
import { AgentService } from './agents/agent-service.js';
import { EnvironmentService } from './agents/environments.js';
import { ServerList } from './agents/server-list.js';
import { AgentSetup } from './agents/setup.js';
import { type RunningApp, startDeputy, startSocketMode } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { AuditTrail } from './audit/audit-trail.js';
import { AuditWebhooks, type AuditWebhookTarget } from './audit/audit-webhooks.js';
import { type Clock, systemClock } from './clock.js';
import type { Config, StorageSettings } from './config.js';
import { type Connector, loadCatalogFile } from './connections/catalog.js';
import { CatalogAccountService } from './connections/catalog-accounts.js';
import { ConnectFlowService } from './connections/connect-flow.js';
import { ConnectionsService } from './connections/connections-service.js';
import { freePort } from './http.js';
import { AdminDirectory } from './identity/admins.js';
import { createSlackSignIn, type SlackSignInSettings } from './identity/slack-sign-in.js';
import { Steering } from './identity/steering.js';
import { type IdSource, randomIds } from './ids.js';
import type { DeliveryLimits } from './ingress/delivery-queue.js';
import { Budgets } from './limits/budgets.js';
import { LiveLimit } from './limits/live-limit.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { UsageMeter } from './limits/usage-meter.js';
import type { Logger } from './logger.js';
import { embeddedMetricFormat, type Metrics, noMetrics } from './metrics.js';
import { createOutboundHttp } from './net/outbound-http.js';
import { SlackAgentNotices } from './outbox/agent-notices.js';
import { SlackConnectionNotices } from './outbox/connection-notices.js';
import { SlackLimitNotices } from './outbox/limit-notices.js';
import { Outbox } from './outbox/outbox.js';
import { SlackPeopleNotices } from './outbox/people-notices.js';
import { SlackSessionNotices } from './outbox/session-notices.js';
import { PeopleService } from './people/people-service.js';
import { PrivacyService } from './people/privacy-service.js';
import type { Services } from './services.js';
import { ApprovalService } from './sessions/approvals.js';
import { RelayManager } from './sessions/relay.js';
import { SessionService } from './sessions/session-service.js';
import { SlackContext } from './sessions/slack-context.js';
import { createSlackClient, type SlackConnection } from './slack/client.js';
import { SlackDirectory } from './slack/directory.js';
import { SlackPacer } from './slack/rate-limits.js';
import {
  DAY_MS,
  DEFAULT_RETENTION_DAYS,
  type DynamoHandle,
  openDynamo,
  openStore,
  type Store,
} from './store/index.js';
import { MemoryService } from './vaults/memory-service.js';
import { VaultService } from './vaults/vault-service.js';
import { ACK_MAX_HOLD_MS, ACK_QUIET_MS, AckGate, Work } from './work.js';

/** The catalog shipped with Deputy, used when DEPUTY_CONNECTORS_FILE is not set. */
export const DEFAULT_CONNECTORS_FILE = new URL('../connectors.yml', import.meta.url).pathname;

/** How to reach the Managed Agents API. */
export interface AnthropicConnection {
  apiKey: string;
  /** The API's base URL; Anthropic's own when absent. */
  baseURL?: string;
}

/**
 * The services Deputy talks to, where they are and how it authenticates to them. In production
 * they come from the configuration (`externalServicesFromConfig`); the sandbox passes its emulators.
 */
export interface ExternalServices {
  slack: SlackConnection;
  anthropic: AnthropicConnection;
  /** The connector catalog: which accounts people can connect, and how. */
  connectors: Connector[];
  /** Sign in with Slack; without it no connect flow can start. */
  signIn?: SlackSignInSettings;
  webhookSigningKey?: string;
  /** Where sessions run; without it `/agent run` cannot start one. */
  environmentId?: string;
}

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
  /** DEPUTY_SEALING_KEY: seals what a disconnect needs to revoke tokens; without it nothing is kept. */
  sealingKey?: Buffer;
  /** DEPUTY_AUDIT_WEBHOOK_*: audit records are also sent to this webhook (a SIEM's). */
  auditWebhook?: AuditWebhookTarget;
  /** DEPUTY_RETENTION_DAYS (default DEFAULT_RETENTION_DAYS). */
  retentionDays?: number;
  /** DEPUTY_TOOL_CHECK_MINUTES (default 15). */
  toolCheckMinutes?: number;
  /** Slack's rate limits multiplied by this (default 1; see SlackPacer). */
  slackRateScale?: number;
  /** How long work after an ack waits for a burst's last requests (default ACK_QUIET_MS; see AckGate). */
  ackQuietMs?: number;
}

/** How often a server's tools are listed again with its catalog account, unless configured. */
export const DEFAULT_TOOL_CHECK_MINUTES = 15;

/** Wires the services from their parts. The one place that decides which implementation is used. */
export function buildServices(parts: ServiceParts): Services {
  const { store, anthropic, ids, logger, publicBaseUrl } = parts;
  const retentionMs = (parts.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
  const work = new Work(logger);
  const clock = work.clock(parts.clock);
  const acks = new AckGate({
    clock,
    quietMs: parts.ackQuietMs ?? ACK_QUIET_MS,
    maxHoldMs: ACK_MAX_HOLD_MS,
  });
  const pacer = new SlackPacer({
    clock,
    logger,
    scale: parts.slackRateScale ?? 1,
    rest: (waiting) => work.resting(waiting),
  });
  const slack = createSlackClient(parts.slack, logger, pacer);
  const outbox = new Outbox({ slack, logger, pacer });
  const directory = new SlackDirectory(slack, clock);
  const http = createOutboundHttp({
    allowPrivateNetwork: parts.allowPrivateNetwork,
    ...(parts.outboundTimeoutMs ? { timeoutMs: parts.outboundTimeoutMs } : {}),
  });
  const auditWebhooks = parts.auditWebhook
    ? new AuditWebhooks({ http, clock, logger, ...parts.auditWebhook })
    : undefined;
  const audit = new AuditLog({
    store,
    clock,
    ids,
    logger,
    ...(auditWebhooks ? { forward: (record) => auditWebhooks.offer(record) } : {}),
  });
  const vaults = new VaultService({ store, anthropic, audit, clock, ids, logger });
  const memories = new MemoryService({ store, anthropic, audit, clock, ids, logger });
  const admins = new AdminDirectory({ directory, admins: parts.admins, clock, logger });
  const access = new AdminAccess({ admins, audit });
  const auditTrail = new AuditTrail({ store, access, clock });
  const limits = new RateLimiter({
    store,
    audit,
    access,
    admins,
    notices: new SlackLimitNotices({ outbox, logger }),
    work,
    clock,
    logger,
  });
  const live = new LiveLimit({ store, clock, limits });
  const budgets = new Budgets({ store, audit, access, clock });
  const usage = new UsageMeter({ store, clock, logger, retentionMs });
  const steering = new Steering({ directory, standing: store.standing, logger });
  const agents = new AgentService({
    store,
    anthropic,
    directory,
    admins,
    notices: new SlackAgentNotices({ outbox, logger }),
    audit,
    clock,
    ids,
    logger,
  });
  const connectionNotices = new SlackConnectionNotices({ outbox, logger });
  // Sessions depend on connections; a disconnect reaches the sessions once they exist.
  const sessionsOf: { current?: SessionService } = {};
  const connections = new ConnectionsService({
    ...(parts.sealingKey ? { sealingKey: parts.sealingKey } : {}),
    writers: agents,
    retentionMs,
    liveSessions: {
      stopUsing: (principal, connectorId, correlationId) =>
        sessionsOf.current?.stopUsing(principal, connectorId, correlationId) ?? Promise.resolve(0),
    },
    admins,
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
    notices: connectionNotices,
    drift: agents,
    personalHome: (principal) => sessionsOf.current?.homeOf(principal) ?? Promise.resolve(undefined),
    adminOverview: async (admin) => {
      const [overview, usage] = await Promise.all([auditTrail.overview(admin), budgets.overview(admin)]);
      return { ...overview, usage };
    },
  });
  const catalogAccounts = new CatalogAccountService({
    store,
    connections,
    http,
    audit,
    clock,
    ids,
    logger,
    ...(parts.sealingKey ? { sealingKey: parts.sealingKey } : {}),
    checkIntervalMs: (parts.toolCheckMinutes ?? DEFAULT_TOOL_CHECK_MINUTES) * 60_000,
  });
  const connectFlows = new ConnectFlowService({
    limits,
    store,
    connections,
    catalogAccounts,
    admins,
    ...(parts.signIn ? { signIn: createSlackSignIn(parts.signIn) } : {}),
    http,
    notices: connectionNotices,
    audit,
    clock,
    ids,
    logger,
    publicBaseUrl,
  });
  const sessionNotices = new SlackSessionNotices(outbox, logger);
  // Approvals resume the relay of a session a decision set running again; the relays ask approvals.
  const relayOf: { current?: RelayManager } = {};
  const approvals = new ApprovalService({
    limits,
    store,
    anthropic,
    notices: sessionNotices,
    steering,
    audit,
    clock,
    ids,
    logger,
    resume: (sessionId) => relayOf.current?.ensure(sessionId),
  });
  const relays = new RelayManager({
    live,
    usage,
    store,
    anthropic,
    audit,
    notices: sessionNotices,
    approvals,
    connections,
    clock,
    work,
    acks,
    ids,
    logger,
    metrics: parts.metrics ?? noMetrics,
  });
  relayOf.current = relays;
  const sessions = new SessionService({
    limits,
    live,
    budgets,
    context: new SlackContext(directory),
    store,
    anthropic,
    notices: sessionNotices,
    steering,
    agents,
    connections,
    vaults,
    relays,
    audit,
    clock,
    work,
    acks,
    ids,
    logger,
    ...(parts.environmentId ? { environmentId: parts.environmentId } : {}),
    ...(parts.defaultAgent ? { defaultAgent: parts.defaultAgent } : {}),
    retentionMs,
    catalogAccounts,
    access,
    memories,
  });
  const privacy = new PrivacyService({
    store,
    anthropic,
    connections,
    sessions,
    vaults,
    memories,
    audit,
    clock,
    logger,
    retentionMs,
  });
  const people = new PeopleService({
    store,
    directory,
    catalogAccounts,
    access,
    connections,
    memories,
    sessions,
    notices: new SlackPeopleNotices({ outbox, logger }),
    audit,
    clock,
    logger,
    admins: parts.admins,
  });
  sessionsOf.current = sessions;
  const signingKey = parts.webhookSigningKey;
  return {
    store,
    anthropic,
    outbox,
    slackPacer: pacer,
    vaults,
    connections,
    connectFlows,
    catalogAccounts,
    agents,
    agentSetup: new AgentSetup({ agents, connections, access, logger }),
    servers: new ServerList({
      store,
      connections,
      catalogAccounts,
      agents,
      access,
      http,
      audit,
      clock,
      allowPrivateNetwork: parts.allowPrivateNetwork,
      environments: new EnvironmentService({
        anthropic,
        catalog: () => connections.catalog(),
        logger,
        ...(parts.environmentId ? { environmentId: parts.environmentId } : {}),
      }),
      work,
    }),
    sessions,
    approvals,
    people,
    privacy,
    relays,
    audit,
    ...(auditWebhooks ? { auditWebhooks } : {}),
    auditTrail,
    limits,
    budgets,
    clock,
    work,
    acks,
    ids,
    logger,
    ...(signingKey
      ? {
          verifyWebhook: (body, headers) =>
            anthropic.beta.webhooks.unwrap(body, { headers, key: signingKey }),
        }
      : {}),
    settings: { publicBaseUrl },
  };
}

export interface Runtime {
  readonly deputy: RunningApp;
  readonly services: Services;
  /** Resolves once the work requests started has ended or waits only on time or the outside world. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Where the app listens, and the public URL its links (connect links, OAuth callbacks) use. */
export interface ListeningAddress {
  port: number;
  publicBaseUrl: string;
}

/**
 * The port and public URL. Links in Slack messages need the public URL before the server listens,
 * so port 0 is resolved to a free port now (unless PUBLIC_BASE_URL fixes the URL anyway).
 */
export async function listeningAddress(
  config: Config,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<ListeningAddress> {
  const port = config.port === 0 && !environment.PUBLIC_BASE_URL ? await freePort() : config.port;
  return { port, publicBaseUrl: config.port === port ? config.publicBaseUrl : `http://127.0.0.1:${port}` };
}

/** The external services a live configuration names: Slack, the Anthropic API and the connector catalog. */
export async function externalServicesFromConfig(
  config: Config,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<ExternalServices> {
  if (!config.slack || !config.anthropic) {
    throw new Error(
      'Deputy needs SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY (`npm start` in a checkout runs the sandbox without them)',
    );
  }
  const { slack, anthropic } = config;
  return {
    slack: {
      signingSecret: slack.signingSecret,
      botToken: slack.botToken,
      ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}),
    },
    anthropic: { apiKey: anthropic.apiKey, ...(anthropic.baseUrl ? { baseURL: anthropic.baseUrl } : {}) },
    connectors: await loadCatalogFile(config.connectorsFile ?? DEFAULT_CONNECTORS_FILE, environment),
    ...(slack.clientId && slack.clientSecret
      ? {
          signIn: {
            issuer: slack.oidcIssuer,
            clientId: slack.clientId,
            clientSecret: slack.clientSecret,
            allowInsecureIssuer: config.allowPrivateNetwork,
          },
        }
      : {}),
    ...(anthropic.webhookSigningKey ? { webhookSigningKey: anthropic.webhookSigningKey } : {}),
    ...(anthropic.environmentId ? { environmentId: anthropic.environmentId } : {}),
  };
}

/** The parts the configuration and its external services decide (the runtime adds its options). */
export function serviceParts(
  config: Config,
  external: ExternalServices,
  local: Pick<ServiceParts, 'store' | 'clock' | 'ids' | 'logger' | 'publicBaseUrl'>,
): ServiceParts {
  return {
    ...local,
    anthropic: new Anthropic(external.anthropic),
    slack: external.slack,
    connectors: external.connectors,
    admins: config.admins,
    ...(config.defaultAgent ? { defaultAgent: config.defaultAgent } : {}),
    ...(external.environmentId ? { environmentId: external.environmentId } : {}),
    allowPrivateNetwork: config.allowPrivateNetwork,
    ...(external.signIn ? { signIn: external.signIn } : {}),
    ...(external.webhookSigningKey ? { webhookSigningKey: external.webhookSigningKey } : {}),
    // The sandbox seals under a key of its own each start; a live deployment only under its own.
    ...(config.sealingKey || config.mode === 'sandbox'
      ? { sealingKey: config.sealingKey ?? randomBytes(32) }
      : {}),
    ...(config.auditWebhook ? { auditWebhook: config.auditWebhook } : {}),
    ...(config.retentionDays ? { retentionDays: config.retentionDays } : {}),
    ...(config.toolCheckMinutes ? { toolCheckMinutes: config.toolCheckMinutes } : {}),
  };
}

export interface RuntimeOptions {
  /** Default: what the configuration names (live mode). */
  external?: ExternalServices;
  /** Default: from the configuration (`listeningAddress`). */
  address?: ListeningAddress;
  /** Default: 0.0.0.0 (containers behind a load balancer). */
  host?: string;
  clock?: Clock;
  ids?: IdSource;
  socketMode?: boolean;
  environment?: NodeJS.ProcessEnv;
  /** Storage already open (tests: a fresh in-memory engine); closed by its owner, not the runtime. */
  dynamo?: DynamoHandle;
  /** Storage to open instead of the configured one. */
  storage?: StorageSettings;
  outboundTimeoutMs?: number;
  /** Default: CloudWatch Embedded Metric Format on stdout. */
  metrics?: Metrics;
  /** Default: DEFAULT_DELIVERY_LIMITS. */
  deliveryLimits?: DeliveryLimits;
  /** How often the sweep runs (default 30 s); tests that must see one path alone space it out. */
  sweepMs?: number;
  /** Slack's rate limits multiplied by this (default 1): tests whose clock stands still raise them. */
  slackRateScale?: number;
  /** See ServiceParts.ackQuietMs: tests whose clock stands still have no stragglers to wait for. */
  ackQuietMs?: number;
}

/** How often undecided approvals are checked for expiry and sessions without a relay are adopted. */
const SWEEP_MS = 30_000;

/** Starts Deputy: storage, the services, the periodic sweep and the app (HTTP or Socket Mode). */
export async function startRuntime(
  config: Config,
  logger: Logger,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const environment = options.environment ?? process.env;
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const external = options.external ?? (await externalServicesFromConfig(config, environment));
    const address = options.address ?? (await listeningAddress(config, environment));
    const dynamo = options.dynamo ?? (await openDynamo(options.storage ?? config.storage));
    if (!options.dynamo) opened.push(dynamo);
    const store = await openStore(dynamo, config.storage.tablePrefix, clock);
    const services = buildServices({
      ...serviceParts(config, external, { store, clock, ids, logger, publicBaseUrl: address.publicBaseUrl }),
      ...(options.outboundTimeoutMs ? { outboundTimeoutMs: options.outboundTimeoutMs } : {}),
      ...(options.slackRateScale ? { slackRateScale: options.slackRateScale } : {}),
      ...(options.ackQuietMs !== undefined ? { ackQuietMs: options.ackQuietMs } : {}),
      metrics:
        options.metrics ?? embeddedMetricFormat({ clock, write: (line) => process.stdout.write(line) }),
    });
    // Closed in reverse: the server stops and drains first, then the periodic work, then the relays
    // release their leases so another replica resumes them from their cursors, then the audit
    // webhook finishes the deliveries under way (the last records are written by then), then storage.
    const { auditWebhooks } = services;
    if (auditWebhooks) opened.push({ close: () => auditWebhooks.stop() });
    opened.push({ close: () => services.relays.close() });
    // Held tool calls nobody decided expire into denies, decisions and starts a dead process left are
    // finished, and sessions another replica let go are adopted.
    const sweep = services.clock.setInterval(async () => {
      await services.approvals.sweep('sweep').catch((error: unknown) => {
        logger.warn('sweeping approvals failed', { error: String(error) });
      });
      await services.sessions.repairStarts('sweep').catch((error: unknown) => {
        logger.warn('repairing starts failed', { error: String(error) });
      });
      await services.people.finishDepartures('sweep').catch((error: unknown) => {
        logger.warn('finishing departures failed', { error: String(error) });
      });
      await services.privacy.purgeDue('sweep').catch((error: unknown) => {
        logger.warn('purging records past retention failed', { error: String(error) });
      });
      await services.catalogAccounts.relistStale('sweep').catch((error: unknown) => {
        logger.warn('listing tools with catalog accounts failed', { error: String(error) });
      });
    }, options.sweepMs ?? SWEEP_MS);
    opened.push({ close: async () => sweep.cancel() });
    const deputy = options.socketMode
      ? await startSocketMode({
          slack: { ...external.slack, appToken: socketModeToken(config) },
          services,
        })
      : await startDeputy({
          slack: external.slack,
          services,
          port: address.port,
          host: options.host ?? '0.0.0.0',
          ...(options.deliveryLimits ? { deliveryLimits: options.deliveryLimits } : {}),
        });
    opened.push(deputy);
    // Closed before the server drains: a call waiting on Slack's limits would hold the stop up.
    opened.push({ close: async () => services.slackPacer.close() });
    // Joins the relaying nodes: sessions a stopped process was relaying go on from their cursors,
    // and from now on this node adopts its share of what dead ones leave (every few seconds).
    await services.relays.start();
    // A workspace that uninstalled the app and installed it again works again.
    await services.people.resumeIfInstalled('start').catch((error: unknown) => {
      logger.warn('checking the installation failed', { error: String(error) });
    });
    return { deputy, services, settled: () => services.work.settled(), close: () => closeAll(opened) };
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

async function closeAll(resources: Array<{ close(): Promise<void> }>): Promise<void> {
  for (const resource of [...resources].reverse()) await resource.close().catch(() => undefined);
}

function socketModeToken(config: Config): string {
  if (config.mode !== 'live' || !config.slack?.appToken) {
    throw new Error(
      'Socket Mode needs a live workspace: set SLACK_APP_TOKEN with the other Slack and Anthropic credentials',
    );
  }
  return config.slack.appToken;
}
