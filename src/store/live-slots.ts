import { keys } from './keys.js';
import type { Table } from './table.js';

/** A slot as held: its run intent id, and when it was last taken. */
export interface HeldSlot {
  slot: string;
  takenAtMs: number;
}

/** The attribute holding when a slot was last taken (beside the set, so one update does both). */
const takenAt = (slot: string) => `t_${slot}`;

/**
 * Who holds the live-session slots of a person or an agent: one item per holder, its slots a string
 * set of run intent ids, each with when it was last taken. Taking is one conditional ADD (only while
 * the set is smaller than the limit, or already holds the slot), so replicas sharing the table never
 * let more through; adding or deleting a slot twice changes nothing.
 */
export class LiveSlots {
  constructor(private readonly table: Table) {}

  /** Takes `slot` for `holder` unless `limit` are taken already; true when it holds it now. */
  take(holder: string, slot: string, limit: number, nowMs: number): Promise<boolean> {
    return this.table.updateIf(keys.liveSlots(holder), {
      UpdateExpression: 'ADD #slots :slot SET #taken = :now',
      ConditionExpression: 'attribute_not_exists(#slots) OR contains(#slots, :id) OR size(#slots) < :limit',
      ExpressionAttributeNames: { '#slots': 'slots', '#taken': takenAt(slot) },
      ExpressionAttributeValues: { ':slot': new Set([slot]), ':id': slot, ':limit': limit, ':now': nowMs },
    });
  }

  async release(holder: string, slot: string): Promise<void> {
    // Only an item that is there: an update would otherwise make an empty one (after a forget-me, say).
    await this.table.updateIf(keys.liveSlots(holder), {
      UpdateExpression: 'DELETE #slots :slot REMOVE #taken',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#slots': 'slots', '#taken': takenAt(slot) },
      ExpressionAttributeValues: { ':slot': new Set([slot]) },
    });
  }

  /** Deletes the holder's item (forget-me: a person's holder names them). */
  async forget(holder: string): Promise<void> {
    await this.table.delete(keys.liveSlots(holder));
  }

  async held(holder: string): Promise<HeldSlot[]> {
    const item = await this.table.getItem(keys.liveSlots(holder));
    const slots = item?.slots;
    if (!(slots instanceof Set)) return [];
    return [...slots]
      .filter((s): s is string => typeof s === 'string')
      .map((slot) => ({ slot, takenAtMs: Number(item?.[takenAt(slot)] ?? 0) }));
  }
}
