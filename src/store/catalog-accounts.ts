import { z } from 'zod';
import type { Clock } from '../clock.js';
import { principalSchema } from '../identity/principal.js';
import { keys } from './keys.js';
import { ShortLived } from './short-lived.js';
import { recordKind, type Table } from './table.js';

/**
 * An admin-designated account per MCP server, used only to list its tools on a schedule
 * (docs/architecture.md#tool-changes). Its tokens are sealed (AES-256-GCM under the deployment's
 * sealing key, bound to the server); `version` orders refreshes so two replicas never both keep a
 * rotated token.
 */
const CatalogAccountRecord = recordKind(
  'catalog account',
  z.object({
    connectorId: z.string().min(1),
    serverUrl: z.string().min(1),
    admin: principalSchema,
    status: z.enum(['active', 'needs_reconnect']),
    sealed: z.string().min(1).max(20_000),
    version: z.number().int().min(1),
    expiresAtMs: z.number().optional(),
    refresh: z
      .object({
        tokenEndpoint: z.string().min(1),
        clientId: z.string().min(1),
        resource: z.string().optional(),
        responseShape: z.enum(['standard', 'slack_user']),
      })
      .optional(),
    revocation: z
      .object({
        style: z.enum(['rfc7009', 'github_grant', 'slack_auth_revoke']),
        url: z.string().min(1),
        clientId: z.string().min(1),
      })
      .optional(),
    connectedAt: z.string(),
  }),
);
export type CatalogAccount = z.infer<typeof CatalogAccountRecord.schema>;

export class CatalogAccounts {
  /** Every account, reused for a few seconds (see ShortLived); single reads are not kept. */
  private readonly all: ShortLived<CatalogAccount[]>;

  constructor(
    private readonly table: Table,
    clock: Pick<Clock, 'now'>,
  ) {
    this.all = new ShortLived(clock);
  }

  get(connectorId: string): Promise<CatalogAccount | undefined> {
    return this.table.get(CatalogAccountRecord, keys.catalogAccount(connectorId));
  }

  /** Every server's catalog account (one each; a handful in all). */
  list(): Promise<CatalogAccount[]> {
    return this.all.read('all', () => this.table.query(CatalogAccountRecord, keys.catalogAccounts()));
  }

  /** A newly connected account replaces the one before. */
  async put(account: CatalogAccount): Promise<void> {
    this.all.forget();
    await this.table.put({ ...keys.catalogAccount(account.connectorId), ...account });
  }

  /** Writes `next` if the stored account is still at `next.version - 1`; false when someone moved it on. */
  replace(next: CatalogAccount): Promise<boolean> {
    this.all.forget();
    return this.table.putIf(
      { ...keys.catalogAccount(next.connectorId), ...next },
      {
        ConditionExpression: 'version = :previous',
        ExpressionAttributeValues: { ':previous': next.version - 1 },
      },
    );
  }

  async remove(connectorId: string): Promise<CatalogAccount | undefined> {
    this.all.forget();
    const account = await this.get(connectorId);
    if (account) await this.table.delete(keys.catalogAccount(connectorId));
    return account;
  }
}
