import Anthropic from '@anthropic-ai/sdk';
import { type RunningApp, type SlackConnection, startDeputy, startSocketMode } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { type IdSource, randomIds } from './ids.js';
import type { Logger } from './logger.js';
import { type Sandbox, startSandbox } from './sandbox/index.js';
import type { Services } from './services.js';
import { type DynamoHandle, openDynamo, openStore, type Store } from './store/index.js';
import { VaultService } from './vaults/vault-service.js';

/** Wires the services from their parts. The one place that decides which implementation is used. */
export function buildServices(parts: {
  store: Store;
  anthropic: Anthropic;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
}): Services {
  const audit = new AuditLog(parts);
  const vaults = new VaultService({ ...parts, audit });
  return { ...parts, audit, vaults };
}

export interface Runtime {
  readonly deputy: RunningApp;
  /** Present in sandbox mode: the emulators the app is wired to. */
  readonly sandbox?: Sandbox;
  readonly services: Services;
  close(): Promise<void>;
}

/** Starts everything the configuration asks for: storage, the sandbox when there are no credentials, and the app. */
export async function startRuntime(
  config: Config,
  logger: Logger,
  options: { clock?: Clock; ids?: IdSource; socketMode?: boolean } = {},
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const sandbox = config.mode === 'sandbox' ? await startSandbox({ logger }) : undefined;
    if (sandbox) opened.push(sandbox);
    const slack: SlackConnection = sandbox?.slackConnection ?? liveSlack(config);
    const anthropic = new Anthropic(sandbox?.anthropicOptions ?? liveAnthropic(config));
    const dynamo: DynamoHandle = await openDynamo(config.storage);
    opened.push(dynamo);
    const store = await openStore(dynamo, config.storage.tablePrefix);
    const services = buildServices({ store, anthropic, clock, ids, logger });
    const deputy = options.socketMode
      ? await startSocketMode({ slack: { ...slack, appToken: socketModeToken(config) }, services })
      : await startDeputy({
          slack,
          services,
          port: config.port,
          // Live deployments run in containers behind a load balancer; the sandbox stays on loopback.
          host: config.mode === 'live' ? '0.0.0.0' : '127.0.0.1',
        });
    opened.push(deputy);
    return {
      deputy,
      sandbox,
      services,
      close: () => closeAll(opened),
    };
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

async function closeAll(resources: Array<{ close(): Promise<void> }>): Promise<void> {
  for (const resource of [...resources].reverse()) await resource.close().catch(() => undefined);
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
