import { z } from 'zod';
import { type Principal, principalSchema } from '../identity/principal.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

export type ConnectionStatus = 'connected' | 'needs_reconnect' | 'disconnected';

/** A person's connection to one connector: which vault credential holds it. Never the token. */
const connectionSchema = z.object({
  principalKey: z.string(),
  principal: principalSchema,
  connectorId: z.string(),
  status: z.enum(['connected', 'needs_reconnect', 'disconnected']),
  vaultId: z.string(),
  credentialId: z.string(),
  mcpServerUrl: z.string(),
  authType: z.enum(['mcp_oauth', 'static_bearer']),
  /** What was asked of the provider, where the connector splits read from write. */
  access: z.enum(['read', 'read_write', 'offered']).optional(),
  connectedAt: z.string(),
  updatedAt: z.string(),
});
export type Connection = z.infer<typeof connectionSchema>;
const ConnectionRecord = recordKind('connection', connectionSchema);
const ConnectorMemberRecord = recordKind('connector member', z.object({ principal: principalSchema }));

export class Connections {
  constructor(private readonly table: Table) {}

  get(principalKey: string, connectorId: string): Promise<Connection | undefined> {
    return this.table.get(ConnectionRecord, keys.connection(principalKey, connectorId));
  }

  list(principalKey: string): Promise<Connection[]> {
    return this.table.query(ConnectionRecord, keys.connectionsOf(principalKey));
  }

  /**
   * Records the connection; indexed by credential id so a webhook about a credential finds it, and
   * by connector (a member item, kept after a disconnect) so everyone on a connector can be found.
   */
  async put(connection: Connection): Promise<void> {
    await this.table.put({
      ...keys.connectorMember(connection.connectorId, connection.principalKey),
      principal: connection.principal,
    });
    await this.table.put({
      ...keys.connection(connection.principalKey, connection.connectorId),
      ...keys.connectionByCredential(connection.credentialId),
      ...connection,
    });
  }

  /** Everyone who has had a connection to the connector (connected or not now). */
  async membersOf(connectorId: string): Promise<Principal[]> {
    const members = await this.table.query(ConnectorMemberRecord, keys.connectorMembers(connectorId));
    return members.map((m) => m.principal);
  }

  async byCredential(credentialId: string): Promise<Connection | undefined> {
    const [connection] = await this.table.query(ConnectionRecord, {
      index: 'gsi1',
      partition: keys.connectionByCredential(credentialId).gsi1pk,
    });
    return connection;
  }

  /**
   * Deletes the connection and its member item, if it is still disconnected (a reconnect since then
   * keeps it). True when deleted, or when there was nothing to delete.
   */
  async purgeDisconnected(principalKey: string, connectorId: string): Promise<boolean> {
    const deleted = await this.table.deleteIf(keys.connection(principalKey, connectorId), {
      ConditionExpression: 'attribute_not_exists(pk) OR #status = :disconnected',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':disconnected': 'disconnected' },
    });
    if (deleted) await this.table.delete(keys.connectorMember(connectorId, principalKey));
    return deleted;
  }

  /** Changes the status if the connection still holds `credentialId` and is not in it already; false otherwise. */
  setStatus(
    principalKey: string,
    connectorId: string,
    credentialId: string,
    status: ConnectionStatus,
    at: string,
  ): Promise<boolean> {
    return this.table.updateIf(keys.connection(principalKey, connectorId), {
      UpdateExpression: 'SET #status = :status, updatedAt = :at',
      // Only a change: of two disconnects racing, one wins (and only it revokes and tells).
      ConditionExpression: 'credentialId = :cred AND #status <> :status',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':status': status, ':at': at, ':cred': credentialId },
    });
  }
}
