import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { applied, type DynamoHandle, epochSeconds } from './dynamo.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** Webhook deliveries already handled, by webhook id, so a replay is a no-op. */
export class WebhookReceipts {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  /** Forgets a receipt whose work failed, so the sender's retry is handled. */
  async forget(webhookId: string): Promise<void> {
    await this.dynamo.doc.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: `WEBHOOK#${webhookId}`, sk: 'WEBHOOK' } }),
    );
  }

  /** True the first time an id is seen (kept a day, longer than any sender's retry window). */
  first(webhookId: string, nowMs: number): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `WEBHOOK#${webhookId}`,
            sk: 'WEBHOOK',
            [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + 86_400_000),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}

/** Dynamically registered OAuth clients, per authorization server and redirect URI. Public clients: no secret. */
export class OAuthClients {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async get(issuer: string, redirectUri: string): Promise<string | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `OAUTHCLIENT#${issuer}`, sk: redirectUri },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.clientId === 'string' ? Item.clientId : undefined;
  }

  /** Keeps the first registration when two race; returns the client id that is kept. */
  async remember(issuer: string, redirectUri: string, clientId: string): Promise<string> {
    const stored = await applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `OAUTHCLIENT#${issuer}`, sk: redirectUri, clientId },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return stored ? clientId : ((await this.get(issuer, redirectUri)) ?? clientId);
  }
}

/** An MCP server on the admins' allow list (managed from Slack by the agent-setup feature). */
export interface AllowedServer {
  id: string;
  name: string;
  url: string;
  authType: 'mcp_oauth' | 'static_token';
  addedBy: string;
  addedAt: string;
}

export class AllowList {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async list(): Promise<AllowedServer[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ALLOWLIST' },
      }),
    );
    return (Items ?? []).map(({ pk: _pk, sk: _sk, ...server }) => server as AllowedServer);
  }

  /** Removes a server; false if it was not there. */
  remove(id: string): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: 'ALLOWLIST', sk: `SERVER#${id}` },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      ),
    );
  }

  /** Adds a server unless one with the same id is there. */
  add(server: AllowedServer): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: 'ALLOWLIST', sk: `SERVER#${server.id}`, ...server },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}

/**
 * Short leases that serialise work on one key across processes (e.g. saving one person's credential
 * for one connector), taken with a conditional write and expiring on their own if the holder dies.
 */
export class Leases {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  acquire(name: string, owner: string, nowMs: number, ttlMs: number): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `LEASE#${name}`,
            sk: 'LEASE',
            owner,
            untilMs: nowMs + ttlMs,
            [EXPIRY_ATTRIBUTE]: epochSeconds(nowMs + ttlMs),
          },
          // Free, expired, or already this owner's (a renewal).
          ConditionExpression: 'attribute_not_exists(pk) OR untilMs < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
        }),
      ),
    );
  }

  async release(name: string, owner: string): Promise<void> {
    await applied(
      this.dynamo.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `LEASE#${name}`, sk: 'LEASE' },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }
}
