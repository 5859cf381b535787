import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoHandle } from './dynamo.js';

export type AuditOutcome = 'success' | 'refused' | 'failure';

/** One security-relevant event, tied to a human where one is known. Never updated or deleted. */
export interface AuditRecord {
  id: string;
  /** ISO 8601 time. */
  at: string;
  action: string;
  outcome: AuditOutcome;
  /** The principal key of the human it is recorded against; absent when none is known (e.g. a forged request). */
  principalKey?: string;
  /** What it acted on: a vault id, a route, a session id. */
  target?: string;
  correlationId: string;
  /** Plain, non-secret facts. */
  details?: Record<string, string | number | boolean | null>;
}

const NOBODY = '-';

/**
 * The audit table's only writer. It offers append and queries and nothing else: no update, no delete.
 * Items are keyed by principal and time, with indexes by target (gsi1) and correlation id (gsi2).
 */
export class AuditRecords {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async append(record: AuditRecord): Promise<void> {
    const sk = `${record.at}#${record.id}`;
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `P#${record.principalKey ?? NOBODY}`,
          sk,
          gsi1pk: `T#${record.target ?? NOBODY}`,
          gsi1sk: sk,
          gsi2pk: `C#${record.correlationId}`,
          gsi2sk: sk,
          ...record,
        },
        // An id collision must never overwrite history.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  byPrincipal(principalKey: string | undefined): Promise<AuditRecord[]> {
    return this.query(undefined, 'pk', `P#${principalKey ?? NOBODY}`);
  }

  byTarget(target: string): Promise<AuditRecord[]> {
    return this.query('gsi1', 'gsi1pk', `T#${target}`);
  }

  byCorrelation(correlationId: string): Promise<AuditRecord[]> {
    return this.query('gsi2', 'gsi2pk', `C#${correlationId}`);
  }

  private async query(index: string | undefined, attribute: string, value: string): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.doc.send(
        new QueryCommand({
          TableName: this.table,
          ...(index ? { IndexName: index } : {}),
          KeyConditionExpression: '#k = :v',
          ExpressionAttributeNames: { '#k': attribute },
          ExpressionAttributeValues: { ':v': value },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return records;
  }
}

function toRecord(item: Record<string, unknown>): AuditRecord {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, gsi2pk: _c, gsi2sk: _d, ...record } = item;
  return record as unknown as AuditRecord;
}
