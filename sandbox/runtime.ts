import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { systemClock } from '../src/clock.js';
import type { Config, StorageSettings } from '../src/config.js';
import { loadCatalogFile } from '../src/connections/catalog.js';
import type { Logger } from '../src/logger.js';
import { noMetrics } from '../src/metrics.js';
import {
  type ExternalServices,
  listeningAddress,
  type Runtime,
  type RuntimeOptions,
  startRuntime,
} from '../src/runtime.js';
import { type Sandbox, startSandbox } from './index.js';
import { SlackDriver } from './slack/driver.js';
import { WorkspaceWebClient } from './workspace/web-client.js';

/** Deputy's product runtime wired to the emulators, with the browser page that plays the workspace. */
export interface SandboxRuntime extends Runtime {
  readonly sandbox: Sandbox;
  /** The browser page that plays the Slack workspace (what `npm start` prints). */
  readonly workspaceUrl: string;
}

/**
 * Starts the emulators, then the product exactly as production starts it (`startRuntime`), given
 * the emulators as its external services, on loopback, with its own fresh storage.
 */
export async function startSandboxRuntime(
  config: Config,
  logger: Logger,
  options: Omit<RuntimeOptions, 'external' | 'address' | 'host' | 'storage' | 'socketMode'> = {},
): Promise<SandboxRuntime> {
  const clock = options.clock ?? systemClock;
  const environment = options.environment ?? process.env;
  const address = await listeningAddress(config, environment);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const sandbox = await startSandbox({
      logger,
      clock,
      publicBaseUrl: address.publicBaseUrl,
      // The workspace page sits next to the app's port, so its address stays the same between runs.
      slackPort: config.port > 0 && config.port < 65535 ? config.port + 1 : 0,
      ...(options.slackRateScale ? { slackRateScale: options.slackRateScale } : {}),
    });
    opened.push(sandbox);
    const sessionsRunIn = await new Anthropic(sandbox.anthropicOptions).beta.environments.create({
      name: `deputy-sandbox-${clock.now()}`,
    });
    const external: ExternalServices = {
      slack: sandbox.slackConnection,
      anthropic: sandbox.anthropicOptions,
      connectors: config.connectorsFile
        ? await loadCatalogFile(config.connectorsFile, environment)
        : sandbox.connectors,
      signIn: sandbox.signIn,
      webhookSigningKey: sandbox.webhookSigningKey,
      environmentId: sessionsRunIn.id,
    };
    const runtime = await startRuntime(config, logger, {
      metrics: noMetrics,
      ...options,
      ...(options.dynamo ? {} : { storage: await freshStorage(config.storage) }),
      external,
      address,
      host: '127.0.0.1',
    });
    opened.push(runtime);
    // Registered as an admin registers Deputy's webhook endpoint in the Console: sessions that
    // wait hold no stream, and their status changes wake a relay.
    sandbox.managedAgents.deliverWebhooksTo({
      url: `${runtime.deputy.url}/webhooks/anthropic`,
      secret: sandbox.webhookSigningKey,
    });
    // People's clicks on the page reach the app as signed requests from the driver, as Slack's would.
    const driver = new SlackDriver({
      appUrl: runtime.deputy.url,
      signingSecret: sandbox.signingSecret,
      slack: sandbox.slack,
    });
    const workspace = new WorkspaceWebClient({ slack: sandbox.slack, driver, logger });
    sandbox.slack.serveWebClient(workspace);
    opened.push({ close: async () => workspace.close() });
    return { ...runtime, sandbox, workspaceUrl: workspace.url, close: () => closeAll(opened) };
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

async function closeAll(resources: Array<{ close(): Promise<void> }>): Promise<void> {
  for (const resource of [...resources].reverse()) await resource.close().catch(() => undefined);
}

/**
 * The emulators keep nothing between runs, so the app's data must not either (a vault id remembered
 * from the last run would name a vault the new emulator never made): embedded storage lives in its
 * own folder under the data directory, cleared at start.
 */
async function freshStorage(storage: StorageSettings): Promise<StorageSettings> {
  if (storage.kind !== 'embedded') return storage;
  const dataDir = join(storage.dataDir, 'sandbox');
  await rm(dataDir, { recursive: true, force: true });
  return { ...storage, dataDir };
}
