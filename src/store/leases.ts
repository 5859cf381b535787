import { applied, epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import type { Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * Short leases that serialise work on one key across processes (saving one person's credential for
 * one connector, relaying one session), taken with a conditional write and expiring on their own if
 * the holder dies.
 */
export class Leases {
  constructor(private readonly table: Table) {}

  /** Takes the lease if it is free, expired, or already this owner's (a renewal). */
  acquire(name: string, owner: string, nowMs: number, ttlMs: number): Promise<boolean> {
    return this.table.putIf(
      {
        ...keys.lease(name),
        owner,
        untilMs: nowMs + ttlMs,
        [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + ttlMs),
      },
      {
        ConditionExpression: 'attribute_not_exists(pk) OR untilMs < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
      },
    );
  }

  async release(name: string, owner: string): Promise<void> {
    await applied(
      this.table.delete(keys.lease(name), {
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  }
}
