import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import type { Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * How long a Slack delivery is remembered. Slack retries a delivery three times over about five
 * minutes; an hour also covers a request replayed late.
 */
const DELIVERY_TTL_MS = 60 * 60 * 1000;

/** Slack deliveries already taken, by their identity, so a retry or duplicate has no effect. */
export class SlackDeliveries {
  constructor(private readonly table: Table) {}

  /** True for the first taker of a delivery, before any of its side effects. */
  take(deliveryKey: string, owner: string, nowMs: number): Promise<boolean> {
    return this.table.putIf(
      {
        ...keys.slackDelivery(deliveryKey),
        owner,
        [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + DELIVERY_TTL_MS),
      },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** Lets a delivery whose handling failed be handled when Slack sends it again. */
  async release(deliveryKey: string, owner: string): Promise<void> {
    await this.table.deleteIf(keys.slackDelivery(deliveryKey), {
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner },
    });
  }
}
