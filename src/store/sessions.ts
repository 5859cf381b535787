import { z } from 'zod';
import { principalSchema } from '../identity/principal.js';
import { keys } from './keys.js';
import { shardOf } from './relay-index.js';
import { recordKind, type Table } from './table.js';

export type SessionStatus = 'running' | 'idle' | 'waiting' | 'done';

/** A session as Deputy relays it: whose it is and where its output goes. */
/** An amount as Managed Agents gives one: minor units as an integer string, and the currency. */
const moneySchema = z.object({
  amount: z.string().regex(/^\d{1,15}$/),
  currency: z.string().regex(/^[A-Z]{3}$/),
});

const sessionUsageSchema = z.object({
  countedCents: z.number().int().nonnegative(),
  /** How much of what is counted the usage ledger is known to hold (written after the count). */
  writtenCents: z.number().int().nonnegative().optional(),
  days: z.record(z.string().regex(/^\d{4}-\d{2}-\d{2}$/), z.number().int().nonnegative()),
});
export type SessionUsage = z.infer<typeof sessionUsageSchema>;

const sessionRecordSchema = z.object({
  sessionId: z.string(),
  intentId: z.string(),
  principal: principalSchema,
  principalKey: z.string(),
  agentName: z.string(),
  agentId: z.string(),
  agentVersion: z.number().int(),
  /** Where it was run from. */
  channelId: z.string(),
  /** The owner's DM with the app, and the thread root there. */
  dmChannelId: z.string(),
  threadTs: z.string(),
  /** The thread root's link (chat.getPermalink), when Slack gave one. */
  permalink: z.string().url().optional(),
  prompt: z.string(),
  /** The correlation id of its start: its metadata at Anthropic and its audit records carry it. */
  correlationId: z.string().optional(),
  status: z.enum(['running', 'idle', 'waiting', 'done']),
  /** When the last turn ended (retention counts from it). */
  finishedAt: z.string().optional(),
  /**
   * Why the last turn ended, as the session said (`end_turn`, or a stop short of it); `interrupted`
   * is an `end_turn` a Stop cut short (its owner's, or Deputy's when it stopped acting for them).
   */
  lastStop: z.enum(['end_turn', 'interrupted', 'budget_reached', 'retries_exhausted', 'refusal']).optional(),
  /** How many tool calls were denied in the last turn (by the person, or by nobody deciding in time). */
  lastDenied: z.number().int().nonnegative().optional(),
  /** What the session has cost at list price (`usage.list_cost`) when its last turn ended. */
  listCost: moneySchema.optional(),
  /** The session's spend ceiling (`budget.max_list_cost`) then, if it has one. */
  ceiling: moneySchema.optional(),
  /** When it was archived at Anthropic (read-only there: it takes no more turns). */
  archivedAt: z.string().optional(),
  /** When an admin last raised the ceiling: a turn stopped at it before then may go on. */
  ceilingRaisedAt: z.string().optional(),
  approverGroup: z.string().optional(),
  createdAt: z.string(),
  /** The id of the last session event relayed to Slack (the relay resumes after it). */
  cursor: z.string().optional(),
  /** When its owner's Share was taken (once per session), and the channel message it became. */
  shareClaimedAt: z.string().optional(),
  sharedTs: z.string().optional(),
  /** When its owner's Stop was taken for the current turn (cleared when the turn ends). */
  stopRequestedAt: z.string().optional(),
  /** The newest "Approve all" message: a click on Approve all must come from it. */
  approveAllTs: z.string().optional(),
  /** The agent's last message, for sharing. */
  resultText: z.string().optional(),
  /** The Slack conversation it was given as context, and how many of its messages (none: only the prompt). */
  context: z
    .object({
      kind: z.enum(['thread', 'message']),
      channelId: z.string(),
      ts: z.string(),
      messages: z.number(),
    })
    .optional(),
  /**
   * What of its cost is counted in the usage ledger (issue 19): in cents, all of it so far and how
   * much on each UTC day. Moved only by `moveUsage`, so each cent is counted on exactly one day.
   */
  usage: sessionUsageSchema.optional(),
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;
const SessionRecordKind = recordKind('session', sessionRecordSchema);

const relayed = (status: SessionStatus) => status === 'running' || status === 'waiting';

export class Sessions {
  constructor(private readonly table: Table) {}

  async put(record: SessionRecord): Promise<void> {
    await this.table.put({
      ...keys.session(record.sessionId),
      ...keys.sessionsOfOwner(record.principalKey, record.createdAt),
      ...record,
    });
    // Replies in the session's thread find the session through this.
    await this.indexThread(record.dmChannelId, record.threadTs, record.sessionId);
  }

  get(sessionId: string): Promise<SessionRecord | undefined> {
    return this.table.get(SessionRecordKind, keys.session(sessionId));
  }

  async byThread(channelId: string, threadTs: string): Promise<SessionRecord | undefined> {
    const item = await this.table.getItem(keys.sessionThread(channelId, threadTs));
    return typeof item?.sessionId === 'string' ? this.get(item.sessionId) : undefined;
  }

  /** The owner's sessions, newest first. */
  byOwner(principalKey: string, limit = 10): Promise<SessionRecord[]> {
    return this.table.query(SessionRecordKind, {
      index: 'gsi1',
      partition: keys.sessionsOfOwner(principalKey, '').gsi1pk,
      newestFirst: true,
      limit,
    });
  }

  /** Lets replies in another thread (a shared result) find the session. */
  async indexThread(channelId: string, threadTs: string, sessionId: string): Promise<void> {
    await this.table.put({ ...keys.sessionThread(channelId, threadTs), sessionId });
  }

  async update(
    sessionId: string,
    fields: Partial<
      Pick<
        SessionRecord,
        | 'status'
        | 'finishedAt'
        | 'lastStop'
        | 'lastDenied'
        | 'listCost'
        | 'ceiling'
        | 'ceilingRaisedAt'
        | 'cursor'
        | 'sharedTs'
        | 'resultText'
        | 'approveAllTs'
      >
    >,
  ): Promise<void> {
    const names = Object.keys(fields);
    if (names.length === 0) return;
    // A turn that ended takes its Stop with it: the next turn may be stopped again.
    const turnOver = fields.status !== undefined && !relayed(fields.status);
    await this.table.update(keys.session(sessionId), {
      UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}${turnOver ? ' REMOVE stopRequestedAt' : ''}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
      ExpressionAttributeValues: Object.fromEntries(Object.entries(fields).map(([n, v]) => [`:${n}`, v])),
      ConditionExpression: 'attribute_exists(pk)',
    });
  }

  /**
   * Counts more of the session's cost: written only if what was counted is still `counted` (none:
   * nothing yet), so two relays counting the same cost count it once. False when it moved on.
   */
  moveUsage(sessionId: string, next: SessionUsage, counted: number | undefined): Promise<boolean> {
    return this.table.updateIf(keys.session(sessionId), {
      UpdateExpression: 'SET #usage = :next',
      ConditionExpression:
        counted === undefined
          ? 'attribute_exists(pk) AND attribute_not_exists(#usage)'
          : 'attribute_exists(pk) AND #usage.#counted = :counted',
      ExpressionAttributeNames: {
        '#usage': 'usage',
        ...(counted === undefined ? {} : { '#counted': 'countedCents' }),
      },
      ExpressionAttributeValues: {
        ':next': sessionUsageSchema.parse(next),
        ...(counted === undefined ? {} : { ':counted': counted }),
      },
    });
  }

  /** The ledger holds what was counted, `countedCents`: marked unless a later count moved it on. */
  async markUsageWritten(sessionId: string, countedCents: number): Promise<void> {
    await this.table.updateIf(keys.session(sessionId), {
      UpdateExpression: 'SET #usage.#written = :counted',
      ConditionExpression: 'attribute_exists(pk) AND #usage.#counted = :counted',
      ExpressionAttributeNames: { '#usage': 'usage', '#written': 'writtenCents', '#counted': 'countedCents' },
      ExpressionAttributeValues: { ':counted': countedCents },
    });
  }

  /** Marks the session archived, once: false when it was marked before (another replica's sweep). */
  claimArchive(sessionId: string, nowMs: number): Promise<boolean> {
    return this.claimOnce(sessionId, 'archivedAt', nowMs);
  }

  /** Takes the session's one Share; false when it was taken before. */
  claimShare(sessionId: string, nowMs: number): Promise<boolean> {
    return this.claimOnce(sessionId, 'shareClaimedAt', nowMs);
  }

  /** Takes Stop for the session's current turn; false when a Stop was taken and the turn has not ended. */
  claimStop(sessionId: string, nowMs: number): Promise<boolean> {
    return this.claimOnce(sessionId, 'stopRequestedAt', nowMs);
  }

  /** Gives Stop back: the turn ended, or the interrupt could not be sent. */
  async releaseStop(sessionId: string): Promise<void> {
    await this.table.update(keys.session(sessionId), {
      UpdateExpression: 'REMOVE stopRequestedAt',
      ConditionExpression: 'attribute_exists(pk)',
    });
  }

  /** Gives Share back: Slack refused the post, so nothing was shared and the person may try again. */
  async releaseShare(sessionId: string): Promise<void> {
    await this.table.update(keys.session(sessionId), {
      UpdateExpression: 'REMOVE shareClaimedAt',
      ConditionExpression: 'attribute_exists(pk)',
    });
  }

  private claimOnce(
    sessionId: string,
    field: 'shareClaimedAt' | 'stopRequestedAt' | 'archivedAt',
    nowMs: number,
  ) {
    return this.table.updateIf(keys.session(sessionId), {
      UpdateExpression: 'SET #claim = :at',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#claim)',
      ExpressionAttributeNames: { '#claim': field },
      ExpressionAttributeValues: { ':at': new Date(nowMs).toISOString() },
    });
  }

  /** The owner's sessions, every page (for forgetting them). */
  allOf(principalKey: string): Promise<SessionRecord[]> {
    return this.table.query(SessionRecordKind, {
      index: 'gsi1',
      partition: keys.sessionsOfOwner(principalKey, '').gsi1pk,
      allPages: true,
    });
  }

  /** Deletes the session's record, its threads' index items and its active mark. */
  async purge(session: SessionRecord): Promise<void> {
    await this.table.delete(keys.sessionThread(session.dmChannelId, session.threadTs));
    if (session.sharedTs) await this.table.delete(keys.sessionThread(session.channelId, session.sharedTs));
    await this.table.delete(keys.session(session.sessionId));
    await this.table.delete(keys.activeSession(shardOf(session.sessionId), session.sessionId));
  }
}
