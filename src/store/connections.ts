import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Principal } from '../identity/principal.js';
import { applied, type DynamoHandle } from './dynamo.js';

export type ConnectionStatus = 'connected' | 'needs_reconnect' | 'disconnected';

/** A person's connection to one connector: which vault credential holds it. Never the token. */
export interface Connection {
  principalKey: string;
  principal: Principal;
  connectorId: string;
  status: ConnectionStatus;
  vaultId: string;
  credentialId: string;
  mcpServerUrl: string;
  authType: 'mcp_oauth' | 'static_bearer';
  connectedAt: string;
  updatedAt: string;
}

const key = (principalKey: string, connectorId: string) => ({
  pk: `PRINCIPAL#${principalKey}`,
  sk: `CONN#${connectorId}`,
});

export class Connections {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async get(principalKey: string, connectorId: string): Promise<Connection | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: key(principalKey, connectorId), ConsistentRead: true }),
    );
    return Item ? toConnection(Item) : undefined;
  }

  async list(principalKey: string): Promise<Connection[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :conn)',
        ExpressionAttributeValues: { ':pk': `PRINCIPAL#${principalKey}`, ':conn': 'CONN#' },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map(toConnection);
  }

  /** Records the connection; indexed by credential id so a webhook about a credential finds it. */
  async put(connection: Connection): Promise<void> {
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...key(connection.principalKey, connection.connectorId),
          gsi1pk: `CRED#${connection.credentialId}`,
          gsi1sk: 'CONN',
          ...connection,
        },
      }),
    );
  }

  async byCredential(credentialId: string): Promise<Connection | undefined> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :cred',
        ExpressionAttributeValues: { ':cred': `CRED#${credentialId}` },
      }),
    );
    const [item] = Items ?? [];
    return item ? toConnection(item) : undefined;
  }

  /** Changes the status if the connection still holds `credentialId`; false if it has moved on. */
  async setStatus(
    principalKey: string,
    connectorId: string,
    credentialId: string,
    status: ConnectionStatus,
    at: string,
  ) {
    return applied(
      this.dynamo.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(principalKey, connectorId),
          UpdateExpression: 'SET #status = :status, updatedAt = :at',
          ConditionExpression: 'credentialId = :cred',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status, ':at': at, ':cred': credentialId },
        }),
      ),
    );
  }
}

function toConnection(item: Record<string, unknown>): Connection {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...connection } = item;
  return connection as unknown as Connection;
}
