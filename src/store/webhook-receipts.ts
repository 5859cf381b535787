import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import type { Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** How long a webhook id is remembered: longer than any sender's retry window. */
const RECEIPT_TTL_MS = 86_400_000;

/** Webhook deliveries already handled, by webhook id, so a replay is a no-op. */
export class WebhookReceipts {
  constructor(private readonly table: Table) {}

  /** True the first time an id is seen. */
  first(webhookId: string, nowMs: number): Promise<boolean> {
    return this.table.putIf(
      { ...keys.webhookReceipt(webhookId), [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + RECEIPT_TTL_MS) },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** Forgets a receipt whose work failed, so the sender's retry is handled. */
  async forget(webhookId: string): Promise<void> {
    await this.table.delete(keys.webhookReceipt(webhookId));
  }
}
