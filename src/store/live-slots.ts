import { keys } from './keys.js';
import type { Table } from './table.js';

/**
 * Who holds the live-session slots of a person or an agent: one item per holder, its slots a string
 * set of run intent ids. Taking is one conditional ADD (only while the set is smaller than the limit,
 * or already holds the slot), so replicas sharing the table never let more through; adding or
 * deleting a slot twice changes nothing.
 */
export class LiveSlots {
  constructor(private readonly table: Table) {}

  /** Takes `slot` for `holder` unless `limit` are taken already; true when it holds it now. */
  take(holder: string, slot: string, limit: number): Promise<boolean> {
    return this.table.updateIf(keys.liveSlots(holder), {
      UpdateExpression: 'ADD #slots :slot',
      ConditionExpression: 'attribute_not_exists(#slots) OR contains(#slots, :id) OR size(#slots) < :limit',
      ExpressionAttributeNames: { '#slots': 'slots' },
      ExpressionAttributeValues: { ':slot': new Set([slot]), ':id': slot, ':limit': limit },
    });
  }

  async release(holder: string, slot: string): Promise<void> {
    // Only an item that is there: an update would otherwise make an empty one (after a forget-me, say).
    await this.table.updateIf(keys.liveSlots(holder), {
      UpdateExpression: 'DELETE #slots :slot',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#slots': 'slots' },
      ExpressionAttributeValues: { ':slot': new Set([slot]) },
    });
  }

  /** Deletes the holder's item (forget-me: a person's holder names them). */
  async forget(holder: string): Promise<void> {
    await this.table.delete(keys.liveSlots(holder));
  }

  async held(holder: string): Promise<string[]> {
    const item = await this.table.getItem(keys.liveSlots(holder));
    const slots = item?.slots;
    return slots instanceof Set ? [...slots].filter((s): s is string => typeof s === 'string') : [];
  }
}
