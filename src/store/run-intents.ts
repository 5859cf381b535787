import { z } from 'zod';
import { principalSchema } from '../identity/principal.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * A request to run an agent, recorded before the session is created: its key (the Slack request's
 * trigger id) makes a retried or duplicated delivery find the same intent, and its id goes into the
 * session's metadata so a create whose outcome is unknown can be found instead of repeated.
 */
const runIntentSchema = z.object({
  intentId: z.string(),
  /** The Slack request's trigger id: the same delivery twice is one intent. */
  dedupeKey: z.string(),
  principal: principalSchema,
  agentName: z.string(),
  prompt: z.string(),
  channelId: z.string(),
  /** Set once the session exists. */
  sessionId: z.string().optional(),
});
export type RunIntent = z.infer<typeof runIntentSchema>;
const RunIntentRecord = recordKind('run intent', runIntentSchema);

/** How long an intent is kept: well past Slack's retries and any click on its "Run without them". */
const INTENT_TTL_MS = 86_400_000;

export class RunIntents {
  constructor(private readonly table: Table) {}

  /** Records the intent under its dedupe key once; returns the intent that is kept (a duplicate gets the first). */
  async record(intent: RunIntent, nowMs: number): Promise<{ intent: RunIntent; created: boolean }> {
    const created = await this.table.putIf(
      {
        ...keys.runIntent(intent.dedupeKey),
        ...keys.runIntentById(intent.intentId),
        ...intent,
        [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + INTENT_TTL_MS),
      },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    if (created) return { intent, created };
    const kept = await this.table.get(RunIntentRecord, keys.runIntent(intent.dedupeKey));
    if (!kept) throw new Error('a run intent vanished between its write and its read');
    return { intent: kept, created: false };
  }

  async byId(intentId: string): Promise<RunIntent | undefined> {
    const [intent] = await this.table.query(RunIntentRecord, {
      index: 'gsi1',
      partition: keys.runIntentById(intentId).gsi1pk,
    });
    return intent;
  }

  /** Claims an intent for starting, once: a second click (or a retry) gets false. */
  claim(dedupeKey: string, nowMs: number): Promise<boolean> {
    return this.table.updateIf(keys.runIntent(dedupeKey), {
      UpdateExpression: 'SET startedAtMs = :now',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(startedAtMs)',
      ExpressionAttributeValues: { ':now': nowMs },
    });
  }

  /** Notes the session an intent became. */
  async started(dedupeKey: string, sessionId: string): Promise<void> {
    await this.table.update(keys.runIntent(dedupeKey), {
      UpdateExpression: 'SET sessionId = :s',
      ExpressionAttributeValues: { ':s': sessionId },
    });
  }
}
