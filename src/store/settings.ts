import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

/** A limit on one action: how many a person may do per minute and per hour. */
const rateLimitSchema = z.object({
  perMinute: z.number().int().positive(),
  perHour: z.number().int().positive(),
});
/** The limited actions: runs, connects, approval decisions and follow-ups. */
export const rateLimitsSchema = z.object({
  run: rateLimitSchema,
  connect: rateLimitSchema,
  decide: rateLimitSchema,
  follow_up: rateLimitSchema,
});
export type RateLimits = z.infer<typeof rateLimitsSchema>;
export type LimitedAction = keyof RateLimits;

/** How many sessions may be live (running, or waiting for a decision) at once, per person and per agent. */
export const liveLimitsSchema = z.object({
  perPerson: z.number().int().positive(),
  perAgent: z.number().int().positive(),
});
export type LiveLimits = z.infer<typeof liveLimitsSchema>;

const storedRateLimitsSchema = z.object({
  limits: rateLimitsSchema,
  /** Absent on limits saved before there were live limits: the defaults hold. */
  live: liveLimitsSchema.optional(),
  version: z.number().int().positive(),
  changedBy: z.string(),
  changedAt: z.string(),
});
export type StoredRateLimits = z.infer<typeof storedRateLimitsSchema>;
const StoredRateLimitsRecord = recordKind('rate limits', storedRateLimitsSchema);

/** The settings admins change in Slack, each one record with a version that guards concurrent edits. */
export class Settings {
  constructor(private readonly table: Table) {}

  rateLimits(): Promise<StoredRateLimits | undefined> {
    return this.table.get(StoredRateLimitsRecord, keys.settings('RATE_LIMITS'));
  }

  /** Writes the limits if the stored version is still `previousVersion` (none: never set); false when it moved on. */
  putRateLimits(stored: StoredRateLimits, previousVersion: number | undefined): Promise<boolean> {
    return this.table.putIf(
      { ...keys.settings('RATE_LIMITS'), ...storedRateLimitsSchema.parse(stored) },
      previousVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: 'version = :previous',
            ExpressionAttributeValues: { ':previous': previousVersion },
          },
    );
  }
}
