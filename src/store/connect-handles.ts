import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal } from '../identity/principal.js';
import { applied, type DynamoHandle, epochSeconds } from './dynamo.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * What a "Connect" button's link stands for. The item is keyed by a hash of the handle, so the
 * store never holds the link itself; the first open consumes it.
 */
export interface ConnectHandle {
  handleHash: string;
  principal: Principal;
  connectorId: string;
  /** Where the "Connect" message can be updated in place (a Slack response_url), if known. */
  responseUrl?: string;
  expiresAtMs: number;
}

const key = (handleHash: string) => ({ pk: `HANDLE#${handleHash}`, sk: 'HANDLE' });

export class ConnectHandles {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async create(handle: ConnectHandle): Promise<void> {
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...key(handle.handleHash), ...handle, [EXPIRY_ATTRIBUTE]: epochSeconds(handle.expiresAtMs) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** Marks the handle used and returns it, once, while it is unexpired; undefined otherwise. */
  async consume(handleHash: string, nowMs: number): Promise<ConnectHandle | undefined> {
    let item: Record<string, unknown> | undefined;
    const ok = await applied(
      this.dynamo.doc
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: key(handleHash),
            UpdateExpression: 'SET usedAtMs = :now',
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(usedAtMs) AND expiresAtMs > :now',
            ExpressionAttributeValues: { ':now': nowMs },
            ReturnValues: 'ALL_NEW',
          }),
        )
        .then((result) => {
          item = result.Attributes;
        }),
    );
    if (!ok || !item) return undefined;
    return {
      handleHash,
      principal: item.principal as Principal,
      connectorId: String(item.connectorId),
      ...(typeof item.responseUrl === 'string' ? { responseUrl: item.responseUrl } : {}),
      expiresAtMs: Number(item.expiresAtMs),
    };
  }
}
