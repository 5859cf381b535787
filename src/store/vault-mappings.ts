import { z } from 'zod';
import { type Principal, principalSchema } from '../identity/principal.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

/**
 * The one item per principal that says which vault is theirs. It is first written as a claim (one
 * writer wins the right to create the vault), then completed with the vault id. A claim whose lease
 * has run out belongs to a process that died mid-creation and may be taken over.
 */
const vaultMappingSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('claimed'),
    principalKey: z.string(),
    principal: principalSchema,
    claimId: z.string(),
    leaseUntil: z.number(),
  }),
  z.object({
    status: z.literal('ready'),
    principalKey: z.string(),
    principal: principalSchema,
    vaultId: z.string(),
    readyAt: z.number(),
  }),
]);
export type VaultMapping = z.infer<typeof vaultMappingSchema>;
const VaultMappingRecord = recordKind('vault mapping', vaultMappingSchema);

export class VaultMappings {
  constructor(private readonly table: Table) {}

  get(principalKey: string): Promise<VaultMapping | undefined> {
    return this.table.get(VaultMappingRecord, keys.vaultMapping(principalKey));
  }

  /** Writes a claim if the principal has no mapping yet. True when this caller won. */
  claim(principalKey: string, principal: Principal, claimId: string, leaseUntil: number): Promise<boolean> {
    return this.table.putIf(
      {
        ...keys.vaultMapping(principalKey),
        status: 'claimed',
        principalKey,
        principal,
        claimId,
        leaseUntil,
      } satisfies VaultMapping & Record<string, unknown>,
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** Replaces a claim whose lease ended before `now` with a new one. True when this caller won. */
  takeOver(
    principalKey: string,
    staleClaimId: string,
    claimId: string,
    now: number,
    leaseUntil: number,
  ): Promise<boolean> {
    return this.table.updateIf(keys.vaultMapping(principalKey), {
      UpdateExpression: 'SET claimId = :claim, leaseUntil = :lease',
      ConditionExpression: '#status = :claimed AND claimId = :stale AND leaseUntil < :now',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':claim': claimId,
        ':lease': leaseUntil,
        ':claimed': 'claimed',
        ':stale': staleClaimId,
        ':now': now,
      },
    });
  }

  /** Turns this caller's claim into the principal's mapping. False if the claim is no longer theirs. */
  complete(principalKey: string, claimId: string, vaultId: string, readyAt: number): Promise<boolean> {
    return this.table.updateIf(keys.vaultMapping(principalKey), {
      UpdateExpression: 'SET #status = :ready, vaultId = :vault, readyAt = :at REMOVE claimId, leaseUntil',
      ConditionExpression: '#status = :claimed AND claimId = :claim',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':ready': 'ready',
        ':vault': vaultId,
        ':at': readyAt,
        ':claimed': 'claimed',
        ':claim': claimId,
      },
    });
  }

  /** Forgets which vault was the principal's (the vault itself is archived first). */
  async forget(principalKey: string): Promise<void> {
    await this.table.delete(keys.vaultMapping(principalKey));
  }
}
