import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

/**
 * What a disconnect needs to end a connection's token at its provider: where and how to revoke, and
 * the tokens sealed (AES-256-GCM under the deployment's sealing key, bound to the person, connector
 * and vault credential). The store never sees a token in the clear.
 */
const RevocationHandleRecord = recordKind(
  'revocation handle',
  z.object({
    principalKey: z.string().min(1),
    connectorId: z.string().min(1),
    /** The vault credential these tokens went into: a handle is only used for that credential. */
    credentialId: z.string().min(1),
    style: z.enum(['rfc7009', 'github_grant', 'slack_auth_revoke']),
    url: z.string().min(1),
    clientId: z.string().min(1),
    sealed: z.string().min(1).max(20_000),
    createdAt: z.string(),
  }),
);
export type RevocationHandle = z.infer<typeof RevocationHandleRecord.schema>;

export class RevocationHandles {
  constructor(private readonly table: Table) {}

  get(principalKey: string, connectorId: string): Promise<RevocationHandle | undefined> {
    return this.table.get(RevocationHandleRecord, keys.revocationHandle(principalKey, connectorId));
  }

  /** One per connection: a reconnect's handle replaces the one before. */
  async put(handle: RevocationHandle): Promise<void> {
    await this.table.put({ ...keys.revocationHandle(handle.principalKey, handle.connectorId), ...handle });
  }

  /** Forgets the handle if it is still the one for `credentialId` (a reconnect's stays). */
  async forget(principalKey: string, connectorId: string, credentialId: string): Promise<void> {
    await this.table.deleteIf(keys.revocationHandle(principalKey, connectorId), {
      ConditionExpression: 'credentialId = :cred',
      ExpressionAttributeValues: { ':cred': credentialId },
    });
  }
}
