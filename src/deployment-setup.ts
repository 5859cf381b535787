import Anthropic from '@anthropic-ai/sdk';
import { EnvironmentService } from './agents/environments.js';
import { systemClock } from './clock.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { catalogWithAllowList } from './connections/catalog.js';
import { randomIds } from './ids.js';
import { createLogger } from './logger.js';
import { buildServices, type ExternalServices, externalServicesFromConfig, serviceParts } from './runtime.js';
import { describeBotToken } from './slack/client.js';
import {
  agentNameSchema,
  type DynamoHandle,
  MODELS,
  missingTables,
  openDynamo,
  openStore,
  type Store,
  tableNames,
} from './store/index.js';

/**
 * `npm run setup`: prepares a live deployment idempotently and says what it did. The environment
 * sessions run in is created or checked: a cloud environment whose network reaches only the allowed
 * MCP servers' hosts, MCP access on, package registries only when asked for. `--dry-run` says what
 * would change and changes nothing.
 */

export interface SetupOptions {
  environment: NodeJS.ProcessEnv;
  dryRun: boolean;
  /** `--package-managers`: sessions may reach public package registries. */
  packageManagers: boolean;
  /** `--agent NAME`: a first agent of that name, made if there is none (no servers; edit it in Slack). */
  firstAgent?: string;
}

export interface SetupReport {
  ok: boolean;
  lines: string[];
  environmentId?: string;
}

export async function runSetup(options: SetupOptions): Promise<SetupReport> {
  return withLiveDeployment(options.environment, async ({ config, external, dynamo }) => {
    const lines: string[] = [];
    const tables = tableNames(config.storage.tablePrefix);
    const missing = await missingTables(dynamo.client, tables);
    // A dry run creates nothing, tables included: without them the allow list is empty.
    const store: Store | undefined =
      missing.length === 0 || !options.dryRun
        ? await openStore(dynamo, config.storage.tablePrefix, systemClock)
        : undefined;
    if (missing.length > 0)
      lines.push(`${options.dryRun ? 'would create' : 'created'} DynamoDB tables ${missing.join(', ')}`);
    const environments = new EnvironmentService({
      anthropic: new Anthropic(external.anthropic),
      catalog: async () =>
        catalogWithAllowList(external.connectors, store ? await store.allowList.list() : []),
      logger: createLogger({ level: 'warn' }),
    });
    const report = await environments.prepare({
      ...(external.environmentId ? { environmentId: external.environmentId } : {}),
      packageManagers: options.packageManagers,
      dryRun: options.dryRun,
    });
    lines.push(...report.actions);
    if (report.environmentId && report.environmentId !== external.environmentId)
      lines.push(`Set ANTHROPIC_ENVIRONMENT_ID=${report.environmentId} where Deputy runs.`);
    const agent = options.firstAgent
      ? await firstAgent(options.firstAgent, { config, external, store, dryRun: options.dryRun })
      : { ok: true, lines: [] };
    lines.push(...agent.lines);
    return {
      ok: agent.ok,
      lines,
      ...(report.environmentId ? { environmentId: report.environmentId } : {}),
    };
  });
}

/**
 * `--agent NAME`: a first agent, saved as the first person in DEPUTY_ADMINS (in the workspace the
 * bot token is for) with no servers and every tool off, for admins to finish in `/agent setup`.
 * One that exists is left as it is.
 */
async function firstAgent(
  name: string,
  live: { config: Config; external: ExternalServices; store: Store | undefined; dryRun: boolean },
): Promise<{ ok: boolean; lines: string[] }> {
  const { config, external, store } = live;
  if (!agentNameSchema.safeParse(name).success)
    return {
      ok: false,
      lines: [
        `no agent created: "${name}" is not an agent name (1–40 lower-case letters, digits and dashes)`,
      ],
    };
  const [adminId] = config.admins;
  if (!adminId)
    return { ok: false, lines: ['no agent created: set DEPUTY_ADMINS to say which admin creates it'] };
  if (store && (await store.agents.get(name)))
    return { ok: true, lines: [`agent ${name} exists (unchanged)`] };
  if (live.dryRun || !store) return { ok: true, lines: [`would create agent ${name}`] };
  const logger = createLogger({ level: 'warn' });
  const services = buildServices(
    serviceParts(config, external, {
      store,
      clock: systemClock,
      ids: randomIds,
      logger,
      publicBaseUrl: config.publicBaseUrl,
    }),
  );
  const { teamId } = await describeBotToken(external.slack, 10_000);
  if (!teamId)
    return { ok: false, lines: ['no agent created: Slack did not say which workspace the bot token is for'] };
  await services.agents.save(
    { teamId, userId: adminId },
    {
      name,
      description: 'Made by npm run setup: choose its servers and tools with /agent setup.',
      model: MODELS[0],
      system: '',
      servers: [],
      access: { kind: 'everyone' },
    },
    undefined,
    'npm-run-setup',
  );
  return { ok: true, lines: [`created agent ${name} (no servers yet: /agent setup ${name})`] };
}

/**
 * What the deployment commands share: the configuration read as the app reads it (a report of its
 * problems when it is not valid), its external services, and its DynamoDB, closed afterwards.
 */
export async function withLiveDeployment<R extends { ok: boolean; lines: string[] }>(
  environment: NodeJS.ProcessEnv,
  work: (live: { config: Config; external: ExternalServices; dynamo: DynamoHandle }) => Promise<R>,
): Promise<R | { ok: false; lines: string[] }> {
  let config: Config;
  try {
    config = loadConfig(environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, lines: ['The configuration is not valid:', ...error.problems.map((p) => `  ${p}`)] };
  }
  const external = await externalServicesFromConfig(config, environment);
  const dynamo = await openDynamo(config.storage);
  try {
    return await work({ config, external, dynamo });
  } finally {
    await dynamo.close();
  }
}
