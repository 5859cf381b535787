import Anthropic from '@anthropic-ai/sdk';
import { SlackDriver } from '../../sandbox/slack/driver.js';
import { startDeputy } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { randomIds } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { buildServices } from '../../src/runtime.js';
import type { Services } from '../../src/services.js';
import type { Store } from '../../src/store/index.js';
import type { Harness } from './harness.js';

/** Another Deputy process: its own services and HTTP surface over the same table, Slack and Anthropic. */
export interface Replica {
  readonly services: Services;
  readonly url: string;
  /** Slack delivering to this replica. */
  readonly driver: SlackDriver;
  close(): Promise<void>;
}

/**
 * Another process's services (no HTTP surface): over the harness's table (or `store`), Slack and
 * Anthropic, on the harness's clock (or its own: a clock that stops is a process that was killed).
 */
export function replicaServices(
  h: Harness,
  options: { clock?: Clock; store?: Store; admins?: string[] } = {},
): Services {
  const environmentId = h.sandbox.managedAgents.environments()[0]?.id;
  return buildServices({
    store: options.store ?? h.store,
    anthropic: new Anthropic(h.sandbox.anthropicOptions),
    slack: h.sandbox.slackConnection,
    clock: options.clock ?? h.clock,
    ids: randomIds,
    logger: createLogger({ level: 'error', write: () => {} }),
    connectors: h.sandbox.connectors,
    // DEPUTY_ADMINS, as the harness was given it.
    admins: options.admins ?? [],
    publicBaseUrl: h.url,
    allowPrivateNetwork: true,
    ackQuietMs: 0,
    ...(environmentId ? { environmentId } : {}),
  });
}

export async function startReplica(h: Harness, options: { admins?: string[] } = {}): Promise<Replica> {
  const services = replicaServices(h, options);
  const deputy = await startDeputy({ slack: h.sandbox.slackConnection, services });
  return {
    services,
    url: deputy.url,
    driver: new SlackDriver({
      appUrl: deputy.url,
      signingSecret: h.sandbox.signingSecret,
      slack: h.sandbox.slack,
      clock: h.clock,
    }),
    close: async () => {
      await deputy.close();
      await services.relays.close();
    },
  };
}
