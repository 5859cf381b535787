import type Anthropic from '@anthropic-ai/sdk';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import { exactlyOnce, statusOf } from '../outcome.js';
import type { Store } from '../store/index.js';

/** The vault as Deputy uses it: verified to name its principal. */
export interface UserVault {
  id: string;
  displayName: string;
  createdAt: string;
}

/** One credential in a person's vault, as `/agent status` lists it (the API never returns secrets). */
export interface ConnectionSummary {
  serverUrl: string;
  authType: string;
  since: string;
}

/** The person's vault as `/agent status` shows it: ready, refused (it names someone else), or not reachable now. */
export type VaultState =
  | { kind: 'ready'; vaultId: string; createdNow: boolean; createdAt: string }
  | { kind: 'refused'; vaultId: string }
  | { kind: 'unavailable'; reference: string };

/** The metadata key that names a vault's principal; checked before every use. */
export const PRINCIPAL_METADATA_KEY = 'deputy_principal';
/** The claim that created a vault: how a create whose answer was lost is found. */
const CLAIM_METADATA_KEY = 'deputy_claim';

/** The mapping points at a vault that does not name this principal (or no longer exists): refused. */
export class VaultMismatchError extends Error {
  constructor(readonly vaultId: string) {
    super(`vault ${vaultId} does not belong to this user`);
    this.name = 'VaultMismatchError';
  }
}

/** Another request is still creating this principal's vault and did not finish in time. */
export class VaultBusyError extends Error {}

export interface VaultServiceOptions {
  store: Store;
  anthropic: Anthropic;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** How long a claim protects a creation in progress before another request may take over. */
  claimLeaseMs?: number;
  /** How long a request waits for another request's creation to finish. */
  waitForClaimMs?: number;
}

/**
 * One vault per principal (docs/architecture.md#identity-and-the-vault-invariant). The vault is created on
 * first need behind a conditional claim in the store, so concurrent first requests create one vault. A
 * request that finds a claim whose lease ran out (its process died between creating the vault and recording
 * it) takes the claim over and adopts the orphan by its metadata instead of creating a second vault.
 */
export class VaultService {
  private readonly leaseMs: number;
  private readonly waitMs: number;
  /** Ensures in progress in this process, by principal: concurrent requests share one. */
  private readonly ensuring = new Map<string, Promise<UserVault & { created: boolean }>>();

  constructor(private readonly deps: VaultServiceOptions) {
    this.leaseMs = deps.claimLeaseMs ?? 15_000;
    this.waitMs = deps.waitForClaimMs ?? 20_000;
  }

  /** The principal's verified vault, or undefined if they have none yet. Never creates one. */
  async find(principal: Principal, correlationId: string): Promise<UserVault | undefined> {
    const mapping = await this.deps.store.vaultMappings.get(principalKey(principal));
    if (mapping?.status !== 'ready') return undefined;
    return this.verified(principal, mapping.vaultId, correlationId);
  }

  /**
   * The person is forgotten: their vault archived (its credentials with it) and the record of which
   * vault was theirs deleted, so a later connect makes a new one. False when they had none.
   */
  async forget(principal: Principal, correlationId: string): Promise<boolean> {
    const key = principalKey(principal);
    const mapping = await this.deps.store.vaultMappings.get(key);
    if (!mapping) return false;
    if (mapping.status === 'ready') {
      await this.deps.anthropic.beta.vaults.archive(mapping.vaultId).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
      await this.deps.audit.record({
        action: AuditAction.VaultArchived,
        outcome: 'success',
        principal,
        target: mapping.vaultId,
        correlationId,
        details: { reason: 'forgotten' },
      });
    }
    await this.deps.store.vaultMappings.forget(key);
    return true;
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
      if (error instanceof VaultMismatchError)
        return { vault: { kind: 'refused', vaultId: error.vaultId }, connections: [] };
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
        serverUrl: 'mcp_server_url' in auth ? auth.mcp_server_url : auth.secret_name,
        authType: auth.type,
        since: credential.created_at,
      });
    }
    return summaries;
  }

  /**
   * The principal's verified vault, created (or adopted) on first need. Requests in this process
   * share one attempt; across processes the claim in the store decides.
   */
  ensure(principal: Principal, correlationId: string): Promise<UserVault & { created: boolean }> {
    const key = principalKey(principal);
    const current = this.ensuring.get(key);
    if (current) return current.then((vault) => ({ ...vault, created: false }));
    const attempt = this.ensureOnce(principal, correlationId).finally(() => this.ensuring.delete(key));
    this.ensuring.set(key, attempt);
    return attempt;
  }

  private async ensureOnce(
    principal: Principal,
    correlationId: string,
  ): Promise<UserVault & { created: boolean }> {
    const key = principalKey(principal);
    const mappings = this.deps.store.vaultMappings;
    const started = this.deps.clock.now();
    for (let attempt = 0; ; attempt += 1) {
      const mapping = await mappings.get(key);
      if (mapping?.status === 'ready') {
        return { ...(await this.verified(principal, mapping.vaultId, correlationId)), created: false };
      }
      const claimId = this.deps.ids.next('claim');
      const now = this.deps.clock.now();
      const won = mapping
        ? mapping.leaseUntil < now &&
          (await mappings.takeOver(key, mapping.claimId, claimId, now, now + this.leaseMs))
        : await mappings.claim(key, principal, claimId, now + this.leaseMs);
      if (won) {
        const outcome = await this.createOrAdopt(principal, claimId, Boolean(mapping), correlationId);
        if (outcome) return outcome;
        continue; // our claim was taken over while we worked; the loop returns the winner's vault
      }
      // Someone else holds a live claim: wait for their mapping (bounded, with backoff).
      if (this.deps.clock.now() - started > this.waitMs || attempt > 200) {
        throw new VaultBusyError('vault creation is taking longer than expected');
      }
      await this.deps.clock.sleep(Math.min(25 * 2 ** Math.min(attempt, 4), 400));
    }
  }

  private async createOrAdopt(
    principal: Principal,
    claimId: string,
    tookOver: boolean,
    correlationId: string,
  ): Promise<(UserVault & { created: boolean }) | undefined> {
    const key = principalKey(principal);
    // Orphans exist only after a claimant died, so only a take-over pays for the search.
    const orphans = tookOver ? await this.orphansOf(key) : [];
    const [adopt, ...extra] = orphans;
    // The claim's id goes into the metadata, so a create whose answer is lost is found, not repeated.
    const vault =
      adopt ??
      (await exactlyOnce(
        this.deps.clock,
        () =>
          this.deps.anthropic.beta.vaults.create(
            {
              display_name: `Deputy: ${principal.userId} (${principal.enterpriseId ?? principal.teamId})`,
              metadata: {
                [PRINCIPAL_METADATA_KEY]: key,
                [CLAIM_METADATA_KEY]: claimId,
                slack_team_id: principal.teamId,
                slack_user_id: principal.userId,
                ...(principal.enterpriseId ? { slack_enterprise_id: principal.enterpriseId } : {}),
              },
            },
            { maxRetries: 0 },
          ),
        async () => (await this.orphansOf(key)).find((v) => v.metadata?.[CLAIM_METADATA_KEY] === claimId),
      ));
    const completed = await this.deps.store.vaultMappings.complete(
      key,
      claimId,
      vault.id,
      this.deps.clock.now(),
    );
    if (!completed) {
      // Our lease ran out and another request took over. It may have created a vault of its own, so
      // ours must not linger as a second one; or it adopted ours, which is then the person's vault.
      const winner = await this.deps.store.vaultMappings.get(key);
      if (!adopt && winner?.status === 'ready' && winner.vaultId !== vault.id)
        await this.archiveOrphan(principal, vault.id, winner.vaultId, correlationId);
      return undefined;
    }
    await this.deps.audit.record({
      action: adopt ? AuditAction.VaultAdopted : AuditAction.VaultCreated,
      outcome: 'success',
      principal,
      target: vault.id,
      correlationId,
    });
    for (const orphan of extra) await this.archiveOrphan(principal, orphan.id, vault.id, correlationId);
    return { ...toUserVault(vault), created: !adopt };
  }

  private async archiveOrphan(
    principal: Principal,
    vaultId: string,
    kept: string | undefined,
    correlationId: string,
  ) {
    await this.deps.anthropic.beta.vaults.archive(vaultId);
    await this.deps.audit.record({
      action: AuditAction.VaultOrphanArchived,
      outcome: 'success',
      principal,
      target: vaultId,
      correlationId,
      details: { kept: kept ?? null },
    });
  }

  /** Unarchived vaults whose metadata names this principal, oldest first. */
  private async orphansOf(key: string) {
    const found = [];
    for await (const vault of this.deps.anthropic.beta.vaults.list({ limit: 100 })) {
      if (vault.metadata?.[PRINCIPAL_METADATA_KEY] === key && !vault.archived_at) found.push(vault);
    }
    return found.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Fetches the vault and checks it names this principal; a mismatch is refused and audited. */
  private async verified(principal: Principal, vaultId: string, correlationId: string): Promise<UserVault> {
    const vault = await this.deps.anthropic.beta.vaults.retrieve(vaultId).catch((error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    });
    const owner = vault?.metadata?.[PRINCIPAL_METADATA_KEY];
    if (!vault || vault.archived_at || owner !== principalKey(principal)) {
      await this.deps.audit.record({
        action: AuditAction.VaultMismatchRefused,
        outcome: 'refused',
        principal,
        target: vaultId,
        correlationId,
        details: {
          reason: !vault
            ? 'vault_missing'
            : vault.archived_at
              ? 'vault_archived'
              : 'metadata_names_another_principal',
        },
      });
      this.deps.logger.error('vault mismatch refused', { vaultId, correlationId });
      throw new VaultMismatchError(vaultId);
    }
    return toUserVault(vault);
  }
}

function toUserVault(vault: { id: string; display_name: string; created_at: string }): UserVault {
  return { id: vault.id, displayName: vault.display_name, createdAt: vault.created_at };
}
