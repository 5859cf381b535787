import { z } from 'zod';
import { type Principal, principalSchema } from '../identity/principal.js';
import type { Key } from './keys.js';
import { recordKind, type Table } from './table.js';

/**
 * The one item per principal and kind that says which of a kind of resource at Anthropic is theirs
 * (their vault, their memory store). It is first written as a claim (one writer wins the right to
 * create the resource), then completed with the resource's id. A claim whose lease has run out belongs
 * to a process that died mid-creation and may be taken over.
 */
const ownerMappingSchema = z.discriminatedUnion('status', [
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
    resourceId: z.string(),
    readyAt: z.number(),
  }),
]);
export type OwnerMapping = z.infer<typeof ownerMappingSchema>;
/** Vault mappings written before memory stores named the id `vaultId`: read as `resourceId`. */
const OwnerMappingRecord = recordKind(
  'owner mapping',
  z.preprocess(
    (item) =>
      item && typeof item === 'object' && 'vaultId' in item && !('resourceId' in item)
        ? { ...item, resourceId: (item as { vaultId: unknown }).vaultId }
        : item,
    ownerMappingSchema,
  ),
);

export class OwnerMappings {
  constructor(
    private readonly table: Table,
    /** Where a principal's item of this kind lives. */
    private readonly keyOf: (principalKey: string) => Key,
  ) {}

  get(principalKey: string): Promise<OwnerMapping | undefined> {
    return this.table.get(OwnerMappingRecord, this.keyOf(principalKey));
  }

  /** Writes a claim if the principal has no mapping yet. True when this caller won. */
  claim(principalKey: string, principal: Principal, claimId: string, leaseUntil: number): Promise<boolean> {
    return this.table.putIf(
      {
        ...this.keyOf(principalKey),
        status: 'claimed',
        principalKey,
        principal,
        claimId,
        leaseUntil,
      } satisfies OwnerMapping & Record<string, unknown>,
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
    return this.table.updateIf(this.keyOf(principalKey), {
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
  complete(principalKey: string, claimId: string, resourceId: string, readyAt: number): Promise<boolean> {
    return this.table.updateIf(this.keyOf(principalKey), {
      UpdateExpression:
        // vaultId too, for one release: replicas still on the previous code read vaults by it.
        'SET #status = :ready, resourceId = :resource, vaultId = :resource, readyAt = :at REMOVE claimId, leaseUntil',
      ConditionExpression: '#status = :claimed AND claimId = :claim',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':ready': 'ready',
        ':resource': resourceId,
        ':at': readyAt,
        ':claimed': 'claimed',
        ':claim': claimId,
      },
    });
  }

  /** Forgets which resource was the principal's (the resource itself is archived first). */
  async forget(principalKey: string): Promise<void> {
    await this.table.delete(this.keyOf(principalKey));
  }
}
