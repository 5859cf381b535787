import Anthropic from '@anthropic-ai/sdk';
import { EnvironmentService } from './agents/environments.js';
import { systemClock } from './clock.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { catalogWithAllowList } from './connections/catalog.js';
import { createLogger } from './logger.js';
import { type ExternalServices, externalServicesFromConfig } from './runtime.js';
import { type DynamoHandle, missingTables, openDynamo, openStore, tableNames } from './store/index.js';

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
    const store =
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
    return {
      ok: true,
      lines,
      ...(report.environmentId ? { environmentId: report.environmentId } : {}),
    };
  });
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
