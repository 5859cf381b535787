import type { AuditAction, AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import { exactlyOnce, statusOf, TakenOver } from '../outcome.js';
import type { OwnerMappings } from '../store/index.js';

/** What Deputy needs of a resource at Anthropic that belongs to one person (a vault, a memory store). */
export interface OwnedResource {
  id: string;
  metadata?: Record<string, string> | null;
  archived_at: string | null;
  created_at: string;
}

/** The metadata key that names a resource's principal; checked before every use. */
export const PRINCIPAL_METADATA_KEY = 'deputy_principal';
/** The claim that created a resource: how a create whose answer was lost is found. */
const CLAIM_METADATA_KEY = 'deputy_claim';

/** One kind of per-person resource: its API, where its mapping lives, and what its audit says. */
export interface ResourceKind<R extends OwnedResource> {
  /** What people read: "vault", "memory store". */
  noun: string;
  mappings: OwnerMappings;
  /** Creates one with exactly this metadata (no retries: an unknown outcome is looked up instead). */
  create(principal: Principal, metadata: Record<string, string>): Promise<R>;
  retrieve(id: string): Promise<R>;
  /** Every unarchived one of the organisation (orphans are found by their metadata). */
  list(): AsyncIterable<R>;
  archive(id: string): Promise<unknown>;
  /** Deletes one for good (what is in it with it), where the kind can be; else forgetting archives. */
  delete?(id: string): Promise<unknown>;
  audit: {
    created: AuditAction;
    adopted: AuditAction;
    orphanArchived: AuditAction;
    mismatchRefused: AuditAction;
    archived: AuditAction;
    /** Recorded when `forget` deleted rather than archived (needs `delete`). */
    deleted?: AuditAction;
  };
}

/** The mapping points at a resource that does not name this principal (or no longer exists): refused. */
export class OwnerMismatchError extends Error {
  constructor(
    readonly resourceId: string,
    noun: string,
  ) {
    super(`${noun} ${resourceId} does not belong to this user`);
    this.name = 'OwnerMismatchError';
  }
}

/** Another request is still creating this principal's resource and did not finish in time. */
export class OwnerBusyError extends Error {}

export interface OwnedResourcesOptions {
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
 * One resource of a kind per principal (docs/architecture.md#identity-and-the-vault-invariant): created
 * on first need behind a conditional claim in the store, so concurrent first requests create one; a
 * request that finds a claim whose lease ran out (its process died between creating the resource and
 * recording it) takes the claim over and adopts the orphan by its metadata instead of creating a
 * second. Every use is verified: the resource must name its principal in its metadata.
 */
export class OwnedResources<R extends OwnedResource> {
  private readonly leaseMs: number;
  private readonly waitMs: number;
  /** Ensures in progress in this process, by principal: concurrent requests share one. */
  private readonly ensuring = new Map<string, Promise<R & { created: boolean }>>();

  constructor(
    private readonly kind: ResourceKind<R>,
    private readonly deps: OwnedResourcesOptions,
  ) {
    this.leaseMs = deps.claimLeaseMs ?? 15_000;
    this.waitMs = deps.waitForClaimMs ?? 20_000;
  }

  /** The principal's verified resource, or undefined if they have none yet. Never creates one. */
  async find(principal: Principal, correlationId: string): Promise<R | undefined> {
    const mapping = await this.kind.mappings.get(principalKey(principal));
    if (mapping?.status !== 'ready') return undefined;
    return this.verified(principal, mapping.resourceId, correlationId);
  }

  /**
   * Every resource of the principal's archived (or, with `erase` where the kind can, deleted) and the
   * record of which was theirs dropped, so a later need makes a new one. Found by the mapping and by
   * their metadata both: one a creation still under way (or a crashed one) made is not left behind.
   * False when they had none.
   */
  async forget(
    principal: Principal,
    reason: string,
    correlationId: string,
    options: { erase?: boolean } = {},
  ): Promise<boolean> {
    const key = principalKey(principal);
    const mapping = await this.kind.mappings.get(key);
    // The mapping goes first: a creation under way then fails to complete and gives its own up.
    if (mapping) await this.kind.mappings.forget(key);
    const ids = new Set((await this.orphansOf(key)).map((r) => r.id));
    if (mapping?.status === 'ready') ids.add(mapping.resourceId);
    const erase = options.erase === true && this.kind.delete !== undefined;
    for (const id of ids) {
      const gone = erase ? this.kind.delete?.(id) : this.kind.archive(id);
      await Promise.resolve(gone).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
      await this.deps.audit.record({
        action: erase ? (this.kind.audit.deleted ?? this.kind.audit.archived) : this.kind.audit.archived,
        outcome: 'success',
        principal,
        target: id,
        correlationId,
        details: { reason },
      });
    }
    return mapping !== undefined || ids.size > 0;
  }

  /**
   * The principal's verified resource, created (or adopted) on first need. Requests in this process
   * share one attempt; across processes the claim in the store decides.
   */
  ensure(principal: Principal, correlationId: string): Promise<R & { created: boolean }> {
    const key = principalKey(principal);
    const current = this.ensuring.get(key);
    if (current) return current.then((resource) => ({ ...resource, created: false }));
    const attempt = this.ensureOnce(principal, correlationId).finally(() => this.ensuring.delete(key));
    this.ensuring.set(key, attempt);
    return attempt;
  }

  private async ensureOnce(principal: Principal, correlationId: string): Promise<R & { created: boolean }> {
    const key = principalKey(principal);
    const mappings = this.kind.mappings;
    const started = this.deps.clock.now();
    for (let attempt = 0; ; attempt += 1) {
      const mapping = await mappings.get(key);
      if (mapping?.status === 'ready') {
        return { ...(await this.verified(principal, mapping.resourceId, correlationId)), created: false };
      }
      const claimId = this.deps.ids.next('claim');
      const now = this.deps.clock.now();
      const won = mapping
        ? mapping.leaseUntil < now &&
          (await mappings.takeOver(key, mapping.claimId, claimId, now, now + this.leaseMs))
        : await mappings.claim(key, principal, claimId, now + this.leaseMs);
      if (won) {
        const outcome = await this.createOrAdopt(principal, claimId, Boolean(mapping), correlationId).catch(
          (error: unknown) => {
            // Our lease lapsed while the create was retried: the request that took over finishes it.
            if (error instanceof TakenOver) return undefined;
            throw error;
          },
        );
        if (outcome) return outcome;
        continue; // our claim was taken over while we worked; the loop returns the winner's
      }
      // Someone else holds a live claim: wait for their mapping (bounded, with backoff).
      if (this.deps.clock.now() - started > this.waitMs || attempt > 200) {
        throw new OwnerBusyError(`${this.kind.noun} creation is taking longer than expected`);
      }
      await this.deps.clock.sleep(Math.min(25 * 2 ** Math.min(attempt, 4), 400));
    }
  }

  private async createOrAdopt(
    principal: Principal,
    claimId: string,
    tookOver: boolean,
    correlationId: string,
  ): Promise<(R & { created: boolean }) | undefined> {
    const key = principalKey(principal);
    // Orphans exist only after a claimant died, so only a take-over pays for the search.
    const orphans = tookOver ? await this.orphansOf(key) : [];
    const [adopt, ...extra] = orphans;
    // The claim's id goes into the metadata, so a create whose answer is lost is found, not repeated.
    const resource =
      adopt ??
      (await exactlyOnce(
        this.deps.clock,
        () =>
          this.kind.create(principal, {
            [PRINCIPAL_METADATA_KEY]: key,
            [CLAIM_METADATA_KEY]: claimId,
            slack_team_id: principal.teamId,
            slack_user_id: principal.userId,
            ...(principal.enterpriseId ? { slack_enterprise_id: principal.enterpriseId } : {}),
          }),
        async () => (await this.orphansOf(key)).find((r) => r.metadata?.[CLAIM_METADATA_KEY] === claimId),
        {
          // A retry only while the claim is still ours: after a take-over, the taker adopts what
          // an earlier attempt of ours made, or makes one; a late retry here would make a second.
          stillOurs: async () => {
            const now = await this.kind.mappings.get(key);
            return now?.status === 'claimed' && now.claimId === claimId;
          },
        },
      ));
    const completed = await this.kind.mappings.complete(key, claimId, resource.id, this.deps.clock.now());
    if (!completed) {
      // Our lease ran out and another request took over. It may have created one of its own, so
      // ours must not linger as a second; or it adopted ours, which is then the person's.
      // The mapping gone altogether means the person was forgotten meanwhile: ours goes too.
      const winner = await this.kind.mappings.get(key);
      if (
        !adopt &&
        (winner === undefined || (winner.status === 'ready' && winner.resourceId !== resource.id))
      )
        await this.archiveOrphan(
          principal,
          resource.id,
          winner?.status === 'ready' ? winner.resourceId : undefined,
          correlationId,
        );
      if (winner === undefined)
        throw new OwnerBusyError(`the ${this.kind.noun}'s owner was forgotten meanwhile`);
      return undefined;
    }
    await this.deps.audit.record({
      action: adopt ? this.kind.audit.adopted : this.kind.audit.created,
      outcome: 'success',
      principal,
      target: resource.id,
      correlationId,
    });
    for (const orphan of extra) await this.archiveOrphan(principal, orphan.id, resource.id, correlationId);
    return { ...resource, created: !adopt };
  }

  private async archiveOrphan(
    principal: Principal,
    id: string,
    kept: string | undefined,
    correlationId: string,
  ) {
    await this.kind.archive(id);
    await this.deps.audit.record({
      action: this.kind.audit.orphanArchived,
      outcome: 'success',
      principal,
      target: id,
      correlationId,
      details: { kept: kept ?? null },
    });
  }

  /** Unarchived resources whose metadata names this principal, oldest first. */
  private async orphansOf(key: string): Promise<R[]> {
    const found: R[] = [];
    for await (const resource of this.kind.list()) {
      if (resource.metadata?.[PRINCIPAL_METADATA_KEY] === key && !resource.archived_at) found.push(resource);
    }
    return found.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Fetches the resource and checks it names this principal; a mismatch is refused and audited. */
  private async verified(principal: Principal, id: string, correlationId: string): Promise<R> {
    const resource = await this.kind.retrieve(id).catch((error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    });
    const owner = resource?.metadata?.[PRINCIPAL_METADATA_KEY];
    if (!resource || resource.archived_at || owner !== principalKey(principal)) {
      const noun = this.kind.noun.replace(/ /g, '_');
      await this.deps.audit.record({
        action: this.kind.audit.mismatchRefused,
        outcome: 'refused',
        principal,
        target: id,
        correlationId,
        details: {
          reason: !resource
            ? `${noun}_missing`
            : resource.archived_at
              ? `${noun}_archived`
              : 'metadata_names_another_principal',
        },
      });
      this.deps.logger.error(`${this.kind.noun} mismatch refused`, { id, correlationId });
      throw new OwnerMismatchError(id, this.kind.noun);
    }
    return resource;
  }
}
