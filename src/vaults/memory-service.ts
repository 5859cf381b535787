import type Anthropic from '@anthropic-ai/sdk';
import type { BetaManagedAgentsMemoryStore } from '@anthropic-ai/sdk/resources/beta/memory-stores/memory-stores';
import { AuditAction } from '../audit/audit-log.js';
import type { Principal } from '../identity/principal.js';
import type { Store } from '../store/index.js';
import { OwnedResources, type OwnedResourcesOptions } from './owned-resources.js';

export interface MemoryServiceOptions extends OwnedResourcesOptions {
  store: Store;
  anthropic: Anthropic;
}

/**
 * What a remembering agent keeps between one person's sessions: their own memory store, held to the
 * same rule as their vault (docs/architecture.md#memory): one per person, created on first need
 * exactly once, its metadata naming them and checked before every use, attached to their sessions
 * only, and archived when Deputy stops acting for them.
 */
export class MemoryService {
  private readonly stores: OwnedResources<BetaManagedAgentsMemoryStore>;

  constructor(deps: MemoryServiceOptions) {
    const { anthropic } = deps;
    this.stores = new OwnedResources(
      {
        noun: 'memory store',
        mappings: deps.store.memoryMappings,
        create: (principal, metadata) =>
          anthropic.beta.memoryStores.create(
            {
              name: `Deputy memory ${principal.userId}`,
              description:
                'Notes kept between this person’s sessions with Deputy’s agents. They are this person’s alone.',
              metadata,
            },
            { maxRetries: 0 },
          ),
        retrieve: (id) => anthropic.beta.memoryStores.retrieve(id),
        list: () => anthropic.beta.memoryStores.list({ limit: 100 }),
        archive: (id) => anthropic.beta.memoryStores.archive(id),
        // An archived store's memories can still be read: forgetting someone deletes theirs.
        delete: (id) => anthropic.beta.memoryStores.delete(id),
        audit: {
          created: AuditAction.MemoryStoreCreated,
          adopted: AuditAction.MemoryStoreAdopted,
          orphanArchived: AuditAction.MemoryStoreOrphanArchived,
          mismatchRefused: AuditAction.MemoryStoreMismatchRefused,
          archived: AuditAction.MemoryStoreArchived,
          deleted: AuditAction.MemoryStoreDeleted,
        },
      },
      deps,
    );
  }

  /** The person's verified memory store, created on first need. */
  async ensure(principal: Principal, correlationId: string): Promise<{ id: string }> {
    const store = await this.stores.ensure(principal, correlationId);
    return { id: store.id };
  }

  /**
   * Their memory store archived (it can no longer be attached) and the record of it dropped: they
   * left or were revoked. A later need (a revoked person who runs again) starts a new one.
   */
  archive(principal: Principal, reason: string, correlationId: string): Promise<boolean> {
    return this.stores.forget(principal, reason, correlationId);
  }

  /** They asked to be forgotten: their memory store deleted, what it held with it. */
  erase(principal: Principal, correlationId: string): Promise<boolean> {
    return this.stores.forget(principal, 'forgotten', correlationId, { erase: true });
  }
}
