import type Anthropic from '@anthropic-ai/sdk';
import type { BetaManagedAgentsVault } from '@anthropic-ai/sdk/resources/beta/vaults/vaults';
import { AuditAction } from '../audit/audit-log.js';
import type { Principal } from '../identity/principal.js';
import type { Store } from '../store/index.js';
import { OwnedResources, type OwnedResourcesOptions, OwnerMismatchError } from './owned-resources.js';

/** The vault as Deputy uses it: verified to name its principal. */
export interface UserVault {
  id: string;
  displayName: string;
  createdAt: string;
}

/** One credential in a person's vault, as `/agent status` lists it (the API never returns secrets). */
export interface ConnectionSummary {
  /** What the person connected, as Deputy named the credential (the connector's name). */
  name?: string;
  serverUrl: string;
  authType: string;
  since: string;
}

/** The person's vault as `/agent status` shows it: ready, refused (it names someone else), or not reachable now. */
export type VaultState =
  | { kind: 'ready'; vaultId: string; createdNow: boolean; createdAt: string }
  | { kind: 'refused'; vaultId: string }
  | { kind: 'unavailable'; reference: string };

export { PRINCIPAL_METADATA_KEY } from './owned-resources.js';

export interface VaultServiceOptions extends OwnedResourcesOptions {
  store: Store;
  anthropic: Anthropic;
}

/**
 * One vault per principal (docs/architecture.md#identity-and-the-vault-invariant), kept by the
 * per-person machinery every such resource shares (`OwnedResources`): created on first need exactly
 * once, verified to name its principal before every use.
 */
export class VaultService {
  private readonly vaults: OwnedResources<BetaManagedAgentsVault>;

  constructor(private readonly deps: VaultServiceOptions) {
    const { anthropic } = deps;
    this.vaults = new OwnedResources(
      {
        noun: 'vault',
        mappings: deps.store.vaultMappings,
        create: (principal, metadata) =>
          anthropic.beta.vaults.create(
            {
              display_name: `Deputy: ${principal.userId} (${principal.enterpriseId ?? principal.teamId})`,
              metadata,
            },
            { maxRetries: 0 },
          ),
        retrieve: (id) => anthropic.beta.vaults.retrieve(id),
        list: () => anthropic.beta.vaults.list({ limit: 100 }),
        archive: (id) => anthropic.beta.vaults.archive(id),
        audit: {
          created: AuditAction.VaultCreated,
          adopted: AuditAction.VaultAdopted,
          orphanArchived: AuditAction.VaultOrphanArchived,
          mismatchRefused: AuditAction.VaultMismatchRefused,
          archived: AuditAction.VaultArchived,
        },
      },
      deps,
    );
  }

  /** The principal's verified vault, or undefined if they have none yet. Never creates one. */
  async find(principal: Principal, correlationId: string): Promise<UserVault | undefined> {
    const vault = await this.vaults.find(principal, correlationId);
    return vault ? toUserVault(vault) : undefined;
  }

  /**
   * The person is forgotten: their vault archived (its credentials with it) and the record of which
   * vault was theirs deleted, so a later connect makes a new one. False when they had none.
   */
  forget(principal: Principal, correlationId: string): Promise<boolean> {
    return this.vaults.forget(principal, 'forgotten', correlationId);
  }

  /**
   * The person's vault (created on first need) and its active credentials. A vault that fails its
   * ownership check is reported as refused, never used.
   */
  async status(
    principal: Principal,
    correlationId: string,
  ): Promise<{ vault: VaultState; connections: ConnectionSummary[] }> {
    try {
      const vault = await this.ensure(principal, correlationId);
      return {
        vault: { kind: 'ready', vaultId: vault.id, createdNow: vault.created, createdAt: vault.createdAt },
        connections: await this.connections(vault.id),
      };
    } catch (error) {
      if (error instanceof OwnerMismatchError)
        return { vault: { kind: 'refused', vaultId: error.resourceId }, connections: [] };
      this.deps.logger.error('status could not reach the vault', { error: String(error), correlationId });
      return { vault: { kind: 'unavailable', reference: correlationId }, connections: [] };
    }
  }

  /** The vault's active credentials, as connection summaries (secrets are never returned by the API). */
  async connections(vaultId: string): Promise<ConnectionSummary[]> {
    const summaries: ConnectionSummary[] = [];
    for await (const credential of this.deps.anthropic.beta.vaults.credentials.list(vaultId, {
      limit: 100,
    })) {
      if (credential.archived_at) continue;
      const auth = credential.auth;
      summaries.push({
        ...(credential.display_name ? { name: credential.display_name } : {}),
        serverUrl: 'mcp_server_url' in auth ? auth.mcp_server_url : auth.secret_name,
        authType: auth.type,
        since: credential.created_at,
      });
    }
    return summaries;
  }

  /** The principal's verified vault, created (or adopted) on first need. */
  async ensure(principal: Principal, correlationId: string): Promise<UserVault & { created: boolean }> {
    const vault = await this.vaults.ensure(principal, correlationId);
    return { ...toUserVault(vault), created: vault.created };
  }
}

function toUserVault(vault: { id: string; display_name: string; created_at: string }): UserVault {
  return { id: vault.id, displayName: vault.display_name, createdAt: vault.created_at };
}
