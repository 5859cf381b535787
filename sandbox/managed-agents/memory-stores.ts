import type { BetaManagedAgentsMemoryStore } from '@anthropic-ai/sdk/resources/beta/memory-stores/memory-stores';
import type { BetaManagedAgentsMemoryStoreResource } from '@anthropic-ai/sdk/resources/beta/sessions/resources';
import { z } from 'zod';
import { badRequest } from './errors.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import { timeFilter } from './query.js';
import type { Router } from './router.js';
import type { EmulatorState } from './store.js';
import { applyMetadataPatch, metadataPatchSchema, metadataSchema, parseBody } from './validation.js';

// Names: 1-255 characters without control characters; descriptions up to 1,024 (the SDK's docs).
const isControl = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;
const name = z
  .string()
  .min(1)
  .max(255)
  .refine((text) => ![...text].some(isControl), 'Input should have no control characters');
const description = z.string().max(1024);

const createSchema = z.strictObject({
  name,
  description: description.optional(),
  metadata: metadataSchema.optional(),
});

const updateSchema = z.strictObject({
  name: name.nullish(),
  description: description.nullish(),
  metadata: metadataPatchSchema.optional(),
});

/** A session's `resources[]` entry that mounts a memory store (the only resource kind the emulator has). */
export const memoryStoreResourceSchema = z.strictObject({
  type: z.literal('memory_store'),
  memory_store_id: z.string().min(1),
  access: z.enum(['read_write', 'read_only']).nullish(),
  instructions: z.string().max(4096).nullish(),
});

/** The directory a store mounts at: its name lowercased, each run of other characters one hyphen. */
function mountPath(storeName: string): string {
  const slug = storeName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `/mnt/memory/${slug || 'store'}`;
}

/**
 * The memory stores a session mounts, as its `resources` answer them: each must exist and not be
 * archived, and appear once.
 */
export function sessionMemoryResources(
  state: EmulatorState,
  resources: ReadonlyArray<z.infer<typeof memoryStoreResourceSchema>>,
): BetaManagedAgentsMemoryStoreResource[] {
  const seen = new Set<string>();
  return resources.map((resource) => {
    const store = state.memoryStore(resource.memory_store_id).value;
    if (store.archived_at)
      throw badRequest(
        `resources: memory store ${store.id} is archived and cannot be attached to new sessions`,
      );
    if (seen.has(store.id))
      throw badRequest(`resources: memory store ${store.id} is attached more than once`);
    seen.add(store.id);
    return {
      type: 'memory_store',
      memory_store_id: store.id,
      access: resource.access ?? 'read_write',
      instructions: resource.instructions ?? null,
      name: store.name,
      description: store.description,
      mount_path: mountPath(store.name),
    };
  });
}

export function registerMemoryStoreRoutes(router: Router, state: EmulatorState): void {
  const view = (id: string): BetaManagedAgentsMemoryStore => structuredClone(state.memoryStore(id).value);

  router.on('POST', '/v1/memory_stores', ({ body }) => {
    const params = parseBody(createSchema, body);
    const now = state.now();
    const value: BetaManagedAgentsMemoryStore = {
      id: state.ids.next('memstore'),
      type: 'memory_store',
      name: params.name,
      description: params.description ?? '',
      metadata: params.metadata ?? {},
      archived_at: null,
      created_at: now,
      updated_at: now,
    };
    state.memoryStores.set(value.id, { seq: state.nextSeq(), value });
    return view(value.id);
  });

  router.on('GET', '/v1/memory_stores/:memory_store_id', ({ params }) => view(params.memory_store_id ?? ''));

  router.on('POST', '/v1/memory_stores/:memory_store_id', ({ params, body }) => {
    const record = state.memoryStore(params.memory_store_id ?? '');
    const patch = parseBody(updateSchema, body);
    if (record.value.archived_at) throw badRequest(`Memory store ${record.value.id} is archived`);
    record.value = {
      ...record.value,
      name: patch.name ?? record.value.name,
      description: patch.description === undefined ? record.value.description : (patch.description ?? ''),
      metadata: applyMetadataPatch(record.value.metadata, patch.metadata),
      updated_at: state.now(),
    };
    return view(record.value.id);
  });

  router.on('GET', '/v1/memory_stores', ({ query }) => {
    const includeArchived = query.boolean('include_archived') ?? false;
    const created = timeFilter(query, 'created_at');
    const records = [...state.memoryStores.values()].filter(
      (r) => (includeArchived || !r.value.archived_at) && created(r.value.created_at),
    );
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map((r) => structuredClone(r.value)) };
  });

  router.on('DELETE', '/v1/memory_stores/:memory_store_id', ({ params }) => {
    const record = state.memoryStore(params.memory_store_id ?? '');
    state.memoryStores.delete(record.value.id);
    return { id: record.value.id, type: 'memory_store_deleted' };
  });

  // Archiving cannot be undone: the store can no longer be attached to new sessions.
  router.on('POST', '/v1/memory_stores/:memory_store_id/archive', ({ params }) => {
    const record = state.memoryStore(params.memory_store_id ?? '');
    if (!record.value.archived_at) {
      const now = state.now();
      record.value = { ...record.value, archived_at: now, updated_at: now };
    }
    return view(record.value.id);
  });
}
