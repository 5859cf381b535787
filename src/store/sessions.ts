import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal } from '../identity/principal.js';
import { applied, type DynamoHandle, epochSeconds } from './dynamo.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * A request to run an agent, recorded before the session is created: its key (the Slack request's
 * trigger id) makes a retried or duplicated delivery find the same intent, and its id goes into the
 * session's metadata so a create whose outcome is unknown can be found instead of repeated.
 */
export interface RunIntent {
  intentId: string;
  /** The Slack request's trigger id: the same delivery twice is one intent. */
  dedupeKey: string;
  principal: Principal;
  agentName: string;
  prompt: string;
  channelId: string;
  /** Set once the session exists. */
  sessionId?: string;
}

export type SessionStatus = 'running' | 'idle' | 'waiting' | 'done';

/** A session as Deputy relays it: whose it is and where its output goes. */
export interface SessionRecord {
  sessionId: string;
  intentId: string;
  principal: Principal;
  principalKey: string;
  agentName: string;
  agentId: string;
  agentVersion: number;
  /** Where it was run from. */
  channelId: string;
  /** The owner's DM with the app, and the thread root there. */
  dmChannelId: string;
  threadTs: string;
  prompt: string;
  status: SessionStatus;
  approverGroup?: string;
  createdAt: string;
  /** The id of the last session event relayed to Slack (the relay resumes after it). */
  cursor?: string;
  /** The channel message the result was shared as, if it was. */
  sharedTs?: string;
  /** The agent's last message, for sharing. */
  resultText?: string;
}

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired';

/** One tool call held for a person's decision. Its id is what the buttons carry. */
export interface Approval {
  approvalId: string;
  sessionId: string;
  toolUseId: string;
  server: string;
  tool: string;
  /** SHA-256 of the canonical arguments the person was shown. */
  argumentsHash: string;
  status: ApprovalStatus;
  /** Where the approval message is. */
  channelId: string;
  messageTs?: string;
  expiresAtMs: number;
  decidedBy?: string;
  decidedAt?: string;
}

const sessionKey = (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: 'SESSION' });

export class Sessions {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  /** Records the intent under `dedupeKey` once; returns the intent that is kept (a duplicate gets the first). */
  async intent(
    dedupeKey: string,
    intent: RunIntent,
    nowMs: number,
  ): Promise<{ intent: RunIntent; created: boolean }> {
    const key = { pk: `INTENT#${dedupeKey}`, sk: 'INTENT' };
    const created = await applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...key,
            gsi1pk: `INTENTID#${intent.intentId}`,
            gsi1sk: 'INTENT',
            ...intent,
            [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + 86_400_000),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (created) return { intent, created };
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    return { intent: strip(Item ?? {}) as unknown as RunIntent, created: false };
  }

  async intentById(intentId: string): Promise<RunIntent | undefined> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :id',
        ExpressionAttributeValues: { ':id': `INTENTID#${intentId}` },
      }),
    );
    const [item] = Items ?? [];
    return item ? (strip(item) as unknown as RunIntent) : undefined;
  }

  /** Claims an intent for starting, once: a second click (or a retry) gets false. */
  claimIntent(dedupeKey: string, nowMs: number): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `INTENT#${dedupeKey}`, sk: 'INTENT' },
          UpdateExpression: 'SET startedAtMs = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(startedAtMs)',
          ExpressionAttributeValues: { ':now': nowMs },
        }),
      ),
    );
  }

  /** Notes the session an intent became. */
  async intentDone(dedupeKey: string, sessionId: string): Promise<void> {
    await this.dynamo.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `INTENT#${dedupeKey}`, sk: 'INTENT' },
        UpdateExpression: 'SET sessionId = :s',
        ExpressionAttributeValues: { ':s': sessionId },
      }),
    );
  }

  async put(record: SessionRecord): Promise<void> {
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...sessionKey(record.sessionId),
          gsi1pk: `OWNER#${record.principalKey}`,
          gsi1sk: record.createdAt,
          ...record,
        },
      }),
    );
    await this.markActive(record.sessionId, record.status);
    // Replies in the session's thread find the session through this.
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `THREAD#${record.dmChannelId}#${record.threadTs}`,
          sk: 'THREAD',
          sessionId: record.sessionId,
        },
      }),
    );
  }

  /** Sessions whose relay may still have work: a process starting up resumes them. */
  async active(): Promise<string[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ACTIVESESSIONS' },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map((item) => String(item.sessionId));
  }

  private async markActive(sessionId: string, status: SessionStatus): Promise<void> {
    const key = { pk: 'ACTIVESESSIONS', sk: sessionId };
    if (status === 'running' || status === 'waiting') {
      await this.dynamo.doc.send(new PutCommand({ TableName: this.table, Item: { ...key, sessionId } }));
    } else {
      await this.dynamo.doc.send(new DeleteCommand({ TableName: this.table, Key: key }));
    }
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: sessionKey(sessionId), ConsistentRead: true }),
    );
    return Item ? (strip(Item) as unknown as SessionRecord) : undefined;
  }

  async byThread(channelId: string, threadTs: string): Promise<SessionRecord | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: `THREAD#${channelId}#${threadTs}`, sk: 'THREAD' } }),
    );
    return typeof Item?.sessionId === 'string' ? this.get(Item.sessionId) : undefined;
  }

  /** The owner's sessions, newest first. */
  async byOwner(principalKey: string, limit = 10): Promise<SessionRecord[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :owner',
        ExpressionAttributeValues: { ':owner': `OWNER#${principalKey}` },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => strip(item) as unknown as SessionRecord);
  }

  /** Lets replies in another thread (a shared result) find the session. */
  async indexThread(channelId: string, threadTs: string, sessionId: string): Promise<void> {
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `THREAD#${channelId}#${threadTs}`, sk: 'THREAD', sessionId },
      }),
    );
  }

  async update(
    sessionId: string,
    fields: Partial<Pick<SessionRecord, 'status' | 'cursor' | 'sharedTs' | 'resultText'>>,
  ): Promise<void> {
    const names = Object.keys(fields);
    if (names.length === 0) return;
    if (fields.status) await this.markActive(sessionId, fields.status);
    await this.dynamo.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: sessionKey(sessionId),
        UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
        ExpressionAttributeValues: Object.fromEntries(Object.entries(fields).map(([n, v]) => [`:${n}`, v])),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }
}

export class Approvals {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  /** Records the approval once per tool use; false if this tool use already has one. */
  async create(approval: Approval): Promise<boolean> {
    const once = await applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `TOOLUSE#${approval.sessionId}#${approval.toolUseId}`,
            sk: 'TOOLUSE',
            approvalId: approval.approvalId,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (!once) return false;
    if (approval.status === 'pending') {
      await this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...pendingKey(approval), approvalId: approval.approvalId },
        }),
      );
    }
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `APPROVAL#${approval.approvalId}`,
          sk: 'APPROVAL',
          gsi1pk: `APPROVALS#${approval.sessionId}`,
          gsi1sk: approval.toolUseId,
          ...approval,
        },
      }),
    );
    return true;
  }

  async get(approvalId: string): Promise<Approval | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' },
        ConsistentRead: true,
      }),
    );
    return Item ? (strip(Item) as unknown as Approval) : undefined;
  }

  async forSession(sessionId: string): Promise<Approval[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :s',
        ExpressionAttributeValues: { ':s': `APPROVALS#${sessionId}` },
      }),
    );
    return (Items ?? []).map((item) => strip(item) as unknown as Approval);
  }

  /**
   * The one decision: pending → decided, by one conditional write. A person's decision must also come
   * before the approval's expiry; the expiry itself only after it. False when the condition fails.
   */
  decide(
    approvalId: string,
    status: Exclude<ApprovalStatus, 'pending'>,
    decidedBy: string,
    nowMs: number,
  ): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' },
          UpdateExpression: 'SET #status = :status, decidedBy = :by, decidedAt = :at',
          ConditionExpression: `#status = :pending AND expiresAtMs ${status === 'expired' ? '<=' : '>'} :now`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':by': decidedBy,
            ':at': new Date(nowMs).toISOString(),
            ':pending': 'pending',
            ':now': nowMs,
          },
        }),
      ),
    );
  }

  /** Undoes a decision whose confirmation could not be sent, so it can be decided again. */
  async reopen(approvalId: string, decidedBy: string): Promise<void> {
    await applied(
      this.dynamo.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' },
          UpdateExpression: 'SET #status = :pending REMOVE decidedBy, decidedAt',
          ConditionExpression: 'decidedBy = :by',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':by': decidedBy },
        }),
      ),
    );
  }

  /** Pending approvals whose time ran out before `nowMs`. */
  async expiredBefore(nowMs: number): Promise<string[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk < :now',
        ExpressionAttributeValues: { ':pk': 'PENDINGAPPROVALS', ':now': String(nowMs).padStart(15, '0') },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map((item) => String(item.approvalId));
  }

  /** Drops a decided approval from the pending index. */
  async settled(approval: Pick<Approval, 'approvalId' | 'expiresAtMs'>): Promise<void> {
    await this.dynamo.doc.send(new DeleteCommand({ TableName: this.table, Key: pendingKey(approval) }));
  }

  async setMessage(approvalId: string, messageTs: string): Promise<void> {
    await this.dynamo.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' },
        UpdateExpression: 'SET messageTs = :ts',
        ExpressionAttributeValues: { ':ts': messageTs },
      }),
    );
  }

  /** A standing "approve for 15 minutes" for one tool in one session. */
  async grant(sessionId: string, server: string, tool: string, untilMs: number): Promise<void> {
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `GRANT#${sessionId}#${server}#${tool}`,
          sk: 'GRANT',
          untilMs,
          [EXPIRY_ATTRIBUTE]: epochSeconds(untilMs),
        },
      }),
    );
  }

  async hasGrant(sessionId: string, server: string, tool: string, nowMs: number): Promise<boolean> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `GRANT#${sessionId}#${server}#${tool}`, sk: 'GRANT' },
        ConsistentRead: true,
      }),
    );
    return Number(Item?.untilMs ?? 0) > nowMs;
  }
}

const pendingKey = (approval: Pick<Approval, 'approvalId' | 'expiresAtMs'>) => ({
  pk: 'PENDINGAPPROVALS',
  sk: `${String(approval.expiresAtMs).padStart(15, '0')}#${approval.approvalId}`,
});

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, [EXPIRY_ATTRIBUTE]: _ttl, ...rest } = item;
  return rest;
}
