import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import type { Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** One window of a rate limit: which (`m`, `h`), its index since the epoch, its limit and its end. */
export interface RateWindow {
  name: string;
  index: number;
  limit: number;
  endsAtMs: number;
}

/**
 * Per-person counters of limited actions, one item per action and window: a take is one conditional
 * ADD, so replicas sharing the table count together and never let the limit be passed. Items expire
 * with their window.
 */
export class RateCounters {
  constructor(private readonly table: Table) {}

  /** Counts one more in the window unless it is full; false when it was full (nothing counted). */
  take(principalKey: string, action: string, window: RateWindow): Promise<boolean> {
    return this.table.updateIf(keys.rateCount(principalKey, action, window.name, window.index), {
      UpdateExpression: 'ADD #count :one SET #expiry = :expiry',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
      ExpressionAttributeNames: { '#count': 'count', '#expiry': EXPIRY_ATTRIBUTE },
      ExpressionAttributeValues: {
        ':one': 1,
        ':limit': window.limit,
        // A minute past its end, so a clock a little behind still finds it.
        ':expiry': epochSeconds(window.endsAtMs) + 60,
      },
    });
  }

  /** Gives back one taken in the window (the other window was full, so the action did not happen). */
  async giveBack(principalKey: string, action: string, window: RateWindow): Promise<void> {
    await this.table.updateIf(keys.rateCount(principalKey, action, window.name, window.index), {
      UpdateExpression: 'ADD #count :minus',
      ConditionExpression: '#count > :zero',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
    });
  }

  /** Deletes every count of the person (forget-me): they name the person. */
  async forget(principalKey: string): Promise<void> {
    const { pk } = keys.rateCount(principalKey, '', '', 0);
    for (const item of await this.table.queryItems({ partition: pk, allPages: true }))
      await this.table.delete({ pk, sk: String(item.sk) });
  }

  /** Marks the person's hits of a limit as reported for the hour; false when they were already. */
  markReported(principalKey: string, hourIndex: number, hourEndsAtMs: number): Promise<boolean> {
    return this.table.putIf(
      { ...keys.rateReported(principalKey, hourIndex), [EXPIRY_ATTRIBUTE]: epochSeconds(hourEndsAtMs) + 60 },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }
}
