import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal } from '../identity/principal.js';
import { applied, type DynamoHandle } from './dynamo.js';

/**
 * The one item per principal that says which vault is theirs. It is first written as a claim (one
 * writer wins the right to create the vault), then completed with the vault id. A claim whose lease
 * has run out belongs to a process that died mid-creation and may be taken over.
 */
export type VaultMapping =
  | { status: 'claimed'; principalKey: string; principal: Principal; claimId: string; leaseUntil: number }
  | { status: 'ready'; principalKey: string; principal: Principal; vaultId: string; readyAt: number };

interface MappingItem {
  pk: string;
  sk: 'VAULT';
  principalKey: string;
  principal: Principal;
  status: 'claimed' | 'ready';
  claimId?: string;
  leaseUntil?: number;
  vaultId?: string;
  readyAt?: number;
}

const key = (principalKey: string) => ({ pk: `PRINCIPAL#${principalKey}`, sk: 'VAULT' as const });

export class VaultMappings {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async get(principalKey: string): Promise<VaultMapping | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: key(principalKey), ConsistentRead: true }),
    );
    return Item ? toMapping(Item as MappingItem) : undefined;
  }

  /** Writes a claim if the principal has no mapping yet. True when this caller won. */
  async claim(
    principalKey: string,
    principal: Principal,
    claimId: string,
    leaseUntil: number,
  ): Promise<boolean> {
    const item: MappingItem = {
      ...key(principalKey),
      principalKey,
      principal,
      status: 'claimed',
      claimId,
      leaseUntil,
    };
    return applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /** Replaces a claim whose lease ended before `now` with a new one. True when this caller won. */
  async takeOver(
    principalKey: string,
    staleClaimId: string,
    claimId: string,
    now: number,
    leaseUntil: number,
  ): Promise<boolean> {
    return this.conditionalUpdate(principalKey, {
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
  async complete(principalKey: string, claimId: string, vaultId: string, readyAt: number): Promise<boolean> {
    return this.conditionalUpdate(principalKey, {
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

  private async conditionalUpdate(
    principalKey: string,
    expression: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new UpdateCommand({ TableName: this.table, Key: key(principalKey), ...expression }),
      ),
    );
  }
}

function toMapping(item: MappingItem): VaultMapping {
  if (item.status === 'ready' && item.vaultId) {
    return {
      status: 'ready',
      principalKey: item.principalKey,
      principal: item.principal,
      vaultId: item.vaultId,
      readyAt: item.readyAt ?? 0,
    };
  }
  return {
    status: 'claimed',
    principalKey: item.principalKey,
    principal: item.principal,
    claimId: item.claimId ?? '',
    leaseUntil: item.leaseUntil ?? 0,
  };
}
