import type { BetaManagedAgentsVault } from '@anthropic-ai/sdk/resources/beta/vaults/vaults';
import { z } from 'zod';
import { archiveCredentialRecord } from './credentials.js';
import { badRequest } from './errors.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import type { Router } from './router.js';
import type { EmulatorState } from './store.js';
import { applyMetadataPatch, metadataPatchSchema, metadataSchema, parseBody } from './validation.js';

const displayName = z.string().min(1).max(255);

const vaultCreateSchema = z.strictObject({
  display_name: displayName,
  metadata: metadataSchema.optional(),
});

const vaultUpdateSchema = z.strictObject({
  display_name: displayName.nullish(),
  metadata: metadataPatchSchema.optional(),
});

export function registerVaultRoutes(router: Router, state: EmulatorState): void {
  const view = (id: string): BetaManagedAgentsVault => structuredClone(state.vault(id).value);

  router.on('POST', '/v1/vaults', ({ body }) => {
    const params = parseBody(vaultCreateSchema, body);
    const now = state.now();
    const value: BetaManagedAgentsVault = {
      id: state.ids.next('vlt'),
      type: 'vault',
      display_name: params.display_name,
      metadata: params.metadata ?? {},
      archived_at: null,
      created_at: now,
      updated_at: now,
    };
    state.vaults.set(value.id, { seq: state.nextSeq(), value });
    return view(value.id);
  });

  router.on('GET', '/v1/vaults/:vault_id', ({ params }) => view(params.vault_id ?? ''));

  router.on('POST', '/v1/vaults/:vault_id', ({ params, body }) => {
    const record = state.vault(params.vault_id ?? '');
    const patch = parseBody(vaultUpdateSchema, body);
    if (record.value.archived_at) throw badRequest(`Vault ${record.value.id} is archived and read-only`);
    const metadata = applyMetadataPatch(record.value.metadata, patch.metadata);
    record.value = {
      ...record.value,
      display_name: patch.display_name ?? record.value.display_name,
      metadata,
      updated_at: state.now(),
    };
    return view(record.value.id);
  });

  router.on('GET', '/v1/vaults', ({ query }) => {
    const includeArchived = query.boolean('include_archived') ?? false;
    const records = [...state.vaults.values()].filter((v) => includeArchived || !v.value.archived_at);
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map((r) => structuredClone(r.value)) };
  });

  router.on('DELETE', '/v1/vaults/:vault_id', ({ params }) => {
    const record = state.vault(params.vault_id ?? '');
    for (const credential of state.credentialsOf(record.value.id))
      state.credentials.delete(credential.value.id);
    state.vaults.delete(record.value.id);
    return { id: record.value.id, type: 'vault_deleted' };
  });

  // Archiving a vault archives its credentials: their secrets are purged, the records kept.
  router.on('POST', '/v1/vaults/:vault_id/archive', ({ params }) => {
    const record = state.vault(params.vault_id ?? '');
    if (!record.value.archived_at) {
      const now = state.now();
      for (const credential of state.credentialsOf(record.value.id)) archiveCredentialRecord(credential, now);
      record.value = { ...record.value, archived_at: now, updated_at: now };
    }
    return view(record.value.id);
  });
}
