import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { App, HTTPReceiver } from '@slack/bolt';
import { AuditAction } from './audit/audit-log.js';
import { systemClock, withDeadline } from './clock.js';
import { registerListeners, type Surfaces } from './handlers/index.js';
import { answerListenerFailures, busyAnswers } from './handlers/listener-failures.js';
import { listen } from './http.js';
import { ANTHROPIC_WEBHOOK_PATH, anthropicWebhookRoute } from './ingress/anthropic-webhook.js';
import { type DeliveryLimits, DeliveryQueue } from './ingress/delivery-queue.js';
import { createHttpFront, RefusalAudit, SLACK_EVENTS_PATH } from './ingress/http-front.js';
import { takeEachDeliveryOnce } from './ingress/slack-deliveries.js';
import type { Services } from './services.js';
import { type SlackConnection, slackClientOptions } from './slack/client.js';
import { connectRoutes } from './web/connect-routes.js';

/** How long a stop waits for listener work that is still running after its ack. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * The Bolt app with every listener registered. The HTTP front dispatches Slack deliveries to it; its
 * HTTPReceiver serves the other routes (health, connect pages, webhooks).
 */
export function createSlackApp(
  slack: SlackConnection,
  services: Services,
): { app: App; receiver: HTTPReceiver } {
  const receiver = new HTTPReceiver({
    signingSecret: slack.signingSecret,
    // The HTTP front takes Slack's deliveries itself (verified with the injected clock and a
    // two-sided window) and dispatches them to the app: the receiver serves no Slack endpoint at all,
    // so no spelling of the path (`/slack/./events`, `%2e`) can reach the app unverified.
    endpoints: [],
    signatureVerification: false,
    logger: services.logger,
    customRoutes: [
      {
        path: '/healthz',
        method: 'GET',
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end('{"ok":true}');
        },
      },
      ...connectRoutes(services.connectFlows, {
        publicBaseUrl: services.settings.publicBaseUrl,
        logger: services.logger,
        work: services.work,
      }),
      anthropicWebhookRoute({
        ...(services.verifyWebhook ? { verify: services.verifyWebhook } : {}),
        connections: services.connections,
        sessions: services.sessions,
        refusals: new RefusalAudit(services, {
          action: AuditAction.WebhookRefused,
          target: ANTHROPIC_WEBHOOK_PATH,
        }),
        logger: services.logger,
        work: services.work,
      }),
    ],
  });
  const app = new App({
    receiver,
    token: slack.botToken,
    logger: services.logger,
    clientOptions: slackClientOptions(slack),
  });
  configureApp(app, services);
  return { app, receiver };
}

/**
 * What every Deputy Bolt app gets, whatever its receiver: correlation ids, failures answered and
 * logged, each delivery taken once, listeners, and listener work counted as the runtime's work until it ends (for a
 * graceful stop, and for tests waiting on a request's effects).
 */
export function configureApp(app: App, services: Services): void {
  app.use(async ({ context, body, next }) => {
    const correlationId = services.ids.next('req');
    context.correlationId = correlationId;
    // Checked at ingress (ingress/payloads.ts): the request's audit records name it (issue 18).
    const { trigger_id: triggerId } = body as { trigger_id?: unknown };
    const release = services.audit.bindTrigger(
      correlationId,
      typeof triggerId === 'string' ? triggerId : undefined,
    );
    try {
      await services.work.track(next);
    } finally {
      release();
    }
  });
  app.use(answerListenerFailures(services));
  app.use(takeEachDeliveryOnce(services));
  // Only Deputy's own middleware above could still throw past answerListenerFailures.
  app.error(async (error) => {
    services.logger.error('unhandled listener error', { error: String(error) });
  });
  registerListeners(app, surfacesOf(services));
}

/** What Slack's surfaces are given: the services they call and the outbox, never the store or a client. */
function surfacesOf(services: Services): Surfaces {
  const {
    sessions,
    auditTrail,
    approvals,
    people,
    privacy,
    connections,
    agents,
    agentSetup,
    servers,
    limits,
    budgets,
    vaults,
    outbox,
    logger,
  } = services;
  return {
    sessions,
    auditTrail,
    approvals,
    people,
    privacy,
    connections,
    agents,
    agentSetup,
    servers,
    limits,
    budgets,
    vaults,
    outbox,
    logger,
  };
}

/**
 * Listener work still running after its ack, given this long to finish at a stop. Real time, as the
 * orchestrator's stop timeout is.
 */
function drained(services: Services, deliveries: Promise<void> = Promise.resolve()): Promise<void> {
  const settled = deliveries.then(() => services.work.settled());
  return withDeadline(systemClock, settled, SHUTDOWN_GRACE_MS, 'draining').catch(() => undefined);
}

/** A running Deputy app, over HTTP or Socket Mode. */
export interface RunningApp {
  /** Where Slack reaches it: the HTTP base URL, or `socket-mode`. */
  readonly url: string;
  readonly app: App;
  close(): Promise<void>;
}

export interface Deputy extends RunningApp {
  readonly server: Server;
}

/**
 * Starts Deputy's HTTP surface (docs/architecture.md#fixed-contracts) on 127.0.0.1, or on `host` when
 * given.
 */
export async function startDeputy(options: {
  slack: SlackConnection;
  services: Services;
  port?: number;
  host?: string;
  /** How much Slack work this process takes on at once (tests set small limits to reach them). */
  deliveryLimits?: DeliveryLimits;
}): Promise<Deputy> {
  const { services } = options;
  const { app, receiver } = createSlackApp(options.slack, services);
  const queue = new DeliveryQueue(options.deliveryLimits, services.acks);
  const refusals = new RefusalAudit(services, {
    action: AuditAction.SignatureRefused,
    target: SLACK_EVENTS_PATH,
  });
  const server = createServer(
    createHttpFront({
      receiver,
      app,
      signingSecret: options.slack.signingSecret,
      clock: services.clock,
      logger: services.logger,
      refusals,
      queue,
      rest: (waiting) => services.work.resting(waiting),
      busy: busyAnswers(services),
      acks: services.acks,
    }),
  );
  const listening = await listen(server, options.port ?? 0, options.host);
  return {
    url: listening.url,
    server,
    app,
    close: async () => {
      // Stop taking requests, let acknowledged work finish (bounded), then drop what is left.
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      await drained(services, queue.idle());
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Local development without a public URL: Slack delivers over a WebSocket opened with the app-level
 * token, so there are no signed HTTP requests and no browser routes.
 */
export async function startSocketMode(options: {
  slack: SlackConnection & { appToken: string };
  services: Services;
}): Promise<RunningApp> {
  const app = new App({
    socketMode: true,
    appToken: options.slack.appToken,
    token: options.slack.botToken,
    logger: options.services.logger,
    clientOptions: slackClientOptions(options.slack),
  });
  configureApp(app, options.services);
  await app.start();
  return {
    url: 'socket-mode',
    app,
    close: async () => {
      await app.stop();
      await drained(options.services);
    },
  };
}
