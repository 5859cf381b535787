import type Anthropic from '@anthropic-ai/sdk';
import type {
  BetaEnvironment,
  BetaLimitedNetworkParams,
} from '@anthropic-ai/sdk/resources/beta/environments/environments';
import type { Connector } from '../connections/catalog.js';
import type { Logger } from '../logger.js';

/** The environment `npm run setup` makes when none is named (names are unique among live ones). */
export const DEFAULT_ENVIRONMENT_NAME = 'deputy';

/** What preparing the environment did (or, on a dry run, would do), in the order it happened. */
export interface EnvironmentReport {
  environmentId: string | undefined;
  actions: string[];
}

export interface PrepareOptions {
  /** ANTHROPIC_ENVIRONMENT_ID, when set: that environment is checked, never another made. */
  environmentId?: string;
  name?: string;
  /** Whether sessions may reach public package registries (off unless asked for). */
  packageManagers: boolean;
  /** Say what would change, change nothing. */
  dryRun: boolean;
}

/**
 * Where sessions run (docs/architecture.md#environment): one cloud environment whose network is
 * limited to the hosts of the allowed MCP servers, with MCP access on and package registries only
 * when configured. `npm run setup` creates or checks it; an allow-list change makes its hosts follow.
 */
export class EnvironmentService {
  constructor(
    private readonly deps: {
      anthropic: Anthropic;
      /** Every allowed MCP server (the catalog file's and the admins' allow list). */
      catalog: () => Promise<Connector[]>;
      logger: Logger;
      /** The environment sessions run in, when one is configured. */
      environmentId?: string;
    },
  ) {}

  /** The hosts sessions may reach: each allowed server's, once, sorted. */
  async allowedHosts(): Promise<string[]> {
    const hosts = (await this.deps.catalog()).map((connector) => new URL(connector.mcpServerUrl).hostname);
    return [...new Set(hosts)].sort();
  }

  /** Finds (or creates) the environment and brings its network in line; idempotent. */
  async prepare(options: PrepareOptions): Promise<EnvironmentReport> {
    const { anthropic } = this.deps;
    const name = options.name ?? DEFAULT_ENVIRONMENT_NAME;
    const networking: BetaLimitedNetworkParams = {
      type: 'limited',
      allowed_hosts: await this.allowedHosts(),
      allow_mcp_servers: true,
      allow_package_managers: options.packageManagers,
    };
    const actions: string[] = [];
    const existing = options.environmentId
      ? await anthropic.beta.environments.retrieve(options.environmentId)
      : await this.named(name);
    if (existing?.archived_at)
      throw new Error(
        `environment ${existing.id} is archived; unset ANTHROPIC_ENVIRONMENT_ID to create a new one`,
      );
    if (!existing) {
      actions.push(
        `${options.dryRun ? 'would create' : 'created'} environment "${name}" (${describe(networking)})`,
      );
      if (options.dryRun) return { environmentId: undefined, actions };
      const created = await anthropic.beta.environments.create({
        name,
        description: 'Where Deputy runs its sessions. Its allowed hosts follow the MCP server allow list.',
        config: { type: 'cloud', networking },
      });
      return { environmentId: created.id, actions };
    }
    if (existing.config.type !== 'cloud')
      throw new Error(`environment ${existing.id} is self-hosted; Deputy runs its sessions in the cloud`);
    const changes = networkChanges(existing, networking);
    if (changes.length === 0) {
      actions.push(
        `environment "${existing.name}" (${existing.id}) is as it should be (${describe(networking)})`,
      );
      return { environmentId: existing.id, actions };
    }
    actions.push(
      `${options.dryRun ? 'would update' : 'updated'} environment "${existing.name}" (${existing.id}): ${changes.join('; ')}`,
    );
    if (!options.dryRun)
      await anthropic.beta.environments.update(existing.id, { config: { type: 'cloud', networking } });
    return { environmentId: existing.id, actions };
  }

  /**
   * After an allow-list change: the configured environment's allowed hosts follow (its other
   * settings are kept). Best effort: the change stands either way, and the next one (or `npm run
   * setup`) brings the hosts in line.
   */
  async follow(correlationId: string): Promise<void> {
    const { environmentId, anthropic } = this.deps;
    if (!environmentId) return;
    try {
      const environment = await anthropic.beta.environments.retrieve(environmentId);
      const net = environment.config.type === 'cloud' ? environment.config.networking : undefined;
      if (net?.type !== 'limited') return;
      const hosts = await this.allowedHosts();
      if (sameHosts(net.allowed_hosts, hosts)) return;
      // On update, omitted fields keep their values: only the hosts change.
      await anthropic.beta.environments.update(environmentId, {
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: hosts } },
      });
      this.deps.logger.info('environment allowed hosts follow the allow list', {
        environmentId,
        correlationId,
      });
    } catch (error) {
      this.deps.logger.warn('environment allowed hosts not updated', { error: String(error), correlationId });
    }
  }

  /** The live environment with this name, if any. */
  private async named(name: string): Promise<BetaEnvironment | undefined> {
    for await (const environment of this.deps.anthropic.beta.environments.list({ limit: 100 }))
      if (environment.name === name && !environment.archived_at) return environment;
    return undefined;
  }
}

/** How the environment's network differs from what it should be, one phrase per difference. */
function networkChanges(environment: BetaEnvironment, wanted: BetaLimitedNetworkParams): string[] {
  const net = environment.config.type === 'cloud' ? environment.config.networking : undefined;
  if (net?.type !== 'limited') return [`network ${net?.type ?? 'unknown'} → limited`];
  const changes: string[] = [];
  const hosts = wanted.allowed_hosts ?? [];
  if (!sameHosts(net.allowed_hosts, hosts))
    changes.push(`allowed hosts ${list(net.allowed_hosts)} → ${list(hosts)}`);
  if (!net.allow_mcp_servers) changes.push('MCP access off → on');
  if (net.allow_package_managers !== wanted.allow_package_managers)
    changes.push(
      `package registries ${onOff(net.allow_package_managers)} → ${onOff(Boolean(wanted.allow_package_managers))}`,
    );
  return changes;
}

const sameHosts = (a: readonly string[], b: readonly string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
const list = (hosts: readonly string[]) => (hosts.length > 0 ? hosts.join(', ') : '(none)');
const onOff = (on: boolean) => (on ? 'on' : 'off');

function describe(networking: BetaLimitedNetworkParams): string {
  return `limited network: ${list(networking.allowed_hosts ?? [])}; MCP access on; package registries ${onOff(Boolean(networking.allow_package_managers))}`;
}
