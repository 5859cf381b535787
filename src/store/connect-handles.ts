import { z } from 'zod';
import { principalSchema } from '../identity/principal.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { fromItem, recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * What a "Connect" button's link stands for. The item is keyed by a hash of the handle, so the
 * store never holds the link itself; the first open consumes it.
 */
const connectHandleSchema = z.object({
  handleHash: z.string(),
  principal: principalSchema,
  connectorId: z.string(),
  /** `catalog`: an admin connecting the server's catalog account, not their own connection. */
  purpose: z.literal('catalog').optional(),
  /** Where the "Connect" message can be updated in place (a Slack response_url), if known. */
  responseUrl: z.string().optional(),
  expiresAtMs: z.number(),
});
export type ConnectHandle = z.infer<typeof connectHandleSchema>;
const ConnectHandleRecord = recordKind('connect link', connectHandleSchema);

export class ConnectHandles {
  constructor(private readonly table: Table) {}

  async create(handle: ConnectHandle): Promise<void> {
    await this.table.put(
      {
        ...keys.connectHandle(handle.handleHash),
        ...handle,
        [EXPIRY_ATTRIBUTE]: epochSeconds(handle.expiresAtMs),
      },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** Marks the handle used and returns it, once, while it is unexpired; undefined otherwise. */
  async consume(handleHash: string, nowMs: number): Promise<ConnectHandle | undefined> {
    const item = await this.table.updateIfReturning(keys.connectHandle(handleHash), {
      UpdateExpression: 'SET usedAtMs = :now',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAtMs) AND expiresAtMs > :now',
      ExpressionAttributeValues: { ':now': nowMs },
    });
    return item ? fromItem(ConnectHandleRecord, item) : undefined;
  }
}
