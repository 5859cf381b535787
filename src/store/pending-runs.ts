import { z } from 'zod';
import { principalSchema } from '../identity/principal.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { CONTEXT_MAX_MESSAGE_CHARS } from './run-intents.js';
import { recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * A run a person began from a message shortcut and has not yet asked for (the modal is open): whose,
 * and the message Slack sent with the shortcut, kept here rather than in the modal (whose metadata
 * holds 3,000 characters) until they submit it or it expires.
 */
const pendingRunSchema = z.object({
  pendingId: z.string(),
  principal: principalSchema,
  channelId: z.string(),
  message: z.object({
    ts: z.string(),
    userId: z.string().optional(),
    text: z.string().max(CONTEXT_MAX_MESSAGE_CHARS),
  }),
  expiresAtMs: z.number(),
});
export type PendingRun = z.infer<typeof pendingRunSchema>;
const PendingRunRecord = recordKind('pending run', pendingRunSchema);

export class PendingRuns {
  constructor(private readonly table: Table) {}

  async put(pending: PendingRun): Promise<void> {
    const parsed = pendingRunSchema.parse(pending);
    await this.table.put({
      ...keys.pendingRun(parsed.pendingId),
      ...parsed,
      [EXPIRY_ATTRIBUTE]: epochSeconds(parsed.expiresAtMs),
    });
  }

  /** The pending run, unless it expired (DynamoDB deletes expired items late). */
  async get(pendingId: string, nowMs: number): Promise<PendingRun | undefined> {
    const pending = await this.table.get(PendingRunRecord, keys.pendingRun(pendingId));
    return pending && pending.expiresAtMs > nowMs ? pending : undefined;
  }
}
