import { z } from 'zod';
import { principalSchema } from '../identity/principal.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** The most of a conversation a run takes as context: messages, and characters of each. */
export const CONTEXT_MAX_MESSAGES = 50;
export const CONTEXT_MAX_MESSAGE_CHARS = 4000;

/**
 * Slack messages a run was given as context (a mention's thread, a shortcut's message), as its
 * person could see them when they asked; `omitted` counts the ones left out for length.
 */
export const runContextSchema = z.object({
  kind: z.enum(['thread', 'message']),
  channelId: z.string(),
  /** The thread's parent, or the message. */
  ts: z.string(),
  messages: z
    .array(
      z.object({
        ts: z.string(),
        userId: z.string().optional(),
        text: z.string().max(CONTEXT_MAX_MESSAGE_CHARS),
      }),
    )
    .max(CONTEXT_MAX_MESSAGES),
  omitted: z.number().int().nonnegative(),
});
export type RunContext = z.infer<typeof runContextSchema>;

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
  /** Slack messages given as context (a mention in a thread, a message shortcut). */
  context: runContextSchema.optional(),
  /** The request's correlation id: the session's metadata and audit records carry it. */
  correlationId: z.string().optional(),
  /** When it was recorded (Deputy's clock): a session made for it is looked for from shortly before. */
  recordedAtMs: z.number().optional(),
  /** Set once the session exists. */
  sessionId: z.string().optional(),
  /** The start: when it was claimed, by whom and until when (a lease), and how it ended. */
  startedAtMs: z.number().optional(),
  startOwner: z.string().optional(),
  startUntilMs: z.number().optional(),
  failedAtMs: z.number().optional(),
  openedAt: z.number().optional(),
});
export type RunIntent = z.infer<typeof runIntentSchema>;
const RunIntentRecord = recordKind('run intent', runIntentSchema);

/** Who is starting an intent's session, and until when nobody else may. */
export interface StartLease {
  owner: string;
  untilMs: number;
}

/** How long an intent is kept: well past Slack's retries and any click on its "Run without them". */
const INTENT_TTL_MS = 86_400_000;

export class RunIntents {
  constructor(private readonly table: Table) {}

  /**
   * Records the intent under its dedupe key once; returns the intent that is kept (a duplicate gets
   * the first). With `lease`, it is claimed for starting in the same write (see `claim`).
   */
  async record(
    intent: RunIntent,
    nowMs: number,
    lease?: StartLease,
  ): Promise<{ intent: RunIntent; created: boolean }> {
    const claimed = lease ? { startedAtMs: nowMs, startOwner: lease.owner, startUntilMs: lease.untilMs } : {};
    const created = await this.table.putIf(
      {
        ...keys.runIntent(intent.dedupeKey),
        ...keys.runIntentById(intent.intentId),
        ...intent,
        ...claimed,
        [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + INTENT_TTL_MS),
      },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    if (created) return { intent: { ...intent, ...claimed }, created };
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

  /**
   * Claims an intent for starting, once: a second click (or a retry) gets false. The claim is a lease
   * (a process that dies while starting lets the sweep finish or fail the start once it lapses).
   */
  claim(dedupeKey: string, lease: StartLease, nowMs: number): Promise<boolean> {
    return this.table.updateIf(keys.runIntent(dedupeKey), {
      UpdateExpression: 'SET startedAtMs = :now, startOwner = :owner, startUntilMs = :until',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(startedAtMs)',
      ExpressionAttributeValues: { ':now': nowMs, ':owner': lease.owner, ':until': lease.untilMs },
    });
  }

  /** A claimed start joins the index of starts still open (before its session is created). */
  async indexOpen(dedupeKey: string): Promise<void> {
    await this.table.put({ ...keys.openStart(dedupeKey), dedupeKey });
  }

  /** Takes over a start whose lease lapsed and that is not finished. */
  takeOver(dedupeKey: string, lease: StartLease, nowMs: number): Promise<boolean> {
    return this.table.updateIf(keys.runIntent(dedupeKey), {
      UpdateExpression: 'SET startOwner = :owner, startUntilMs = :until',
      ConditionExpression: 'startUntilMs <= :now AND attribute_not_exists(openedAt)',
      ExpressionAttributeValues: { ':now': nowMs, ':owner': lease.owner, ':until': lease.untilMs },
    });
  }

  /**
   * Renews the start's lease and notes its session, while `lease.owner` still holds it: false when
   * another process took the start over (this one must then leave it alone).
   */
  hold(dedupeKey: string, lease: StartLease, sessionId?: string): Promise<boolean> {
    return this.table.updateIf(keys.runIntent(dedupeKey), {
      UpdateExpression: `SET startUntilMs = :until${sessionId ? ', sessionId = :session' : ''}`,
      ConditionExpression: 'startOwner = :owner AND attribute_not_exists(openedAt)',
      ExpressionAttributeValues: {
        ':owner': lease.owner,
        ':until': lease.untilMs,
        ...(sessionId ? { ':session': sessionId } : {}),
      },
    });
  }

  /**
   * The start failed and its person was told. Its lease ends now: the sweep's next look checks that no
   * session was made after all (a create whose answer was lost), and opens it if one was.
   */
  async failed(dedupeKey: string, owner: string, nowMs: number): Promise<void> {
    await this.table.updateIf(keys.runIntent(dedupeKey), {
      UpdateExpression: 'SET failedAtMs = :now, startUntilMs = :now',
      ConditionExpression: 'startOwner = :owner AND attribute_not_exists(openedAt)',
      ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
    });
  }

  /** The start is over: its session is recorded and its thread open (or it never made one). */
  async finished(dedupeKey: string, nowMs: number): Promise<void> {
    await this.table.update(keys.runIntent(dedupeKey), {
      UpdateExpression: 'SET openedAt = :now',
      ExpressionAttributeValues: { ':now': nowMs },
    });
    await this.unindex(dedupeKey);
  }

  /** Deletes the intent (and its place in the open index), found by its id. */
  async purge(intentId: string): Promise<void> {
    const intent = await this.byId(intentId);
    if (!intent) return;
    await this.unindex(intent.dedupeKey);
    await this.table.delete(keys.runIntent(intent.dedupeKey));
  }

  /** Drops a start from the open index (finished, or its intent gone). */
  async unindex(dedupeKey: string): Promise<void> {
    await this.table.delete(keys.openStart(dedupeKey));
  }

  /** Starts not yet finished, by dedupe key (the sweep finds those a dead process left). */
  async open(): Promise<string[]> {
    const items = await this.table.queryItems({ ...keys.openStarts(), allPages: true });
    return items.map((item) => String(item.dedupeKey));
  }

  get(dedupeKey: string): Promise<RunIntent | undefined> {
    return this.table.get(RunIntentRecord, keys.runIntent(dedupeKey));
  }
}
