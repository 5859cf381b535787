import { z } from 'zod';
import type { Clock } from '../clock.js';
import { keys } from './keys.js';
import { ShortLived } from './short-lived.js';
import { recordKind, type Table } from './table.js';

/** An MCP server on the admins' allow list (managed from Slack with `/agent servers`). */
const allowedServerSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  authType: z.enum(['mcp_oauth', 'static_token']),
  addedBy: z.string(),
  addedAt: z.string(),
});
export type AllowedServer = z.infer<typeof allowedServerSchema>;
const AllowedServerRecord = recordKind('allowed server', allowedServerSchema);

/** The servers admins allowed, the list reused for a few seconds (see ShortLived). */
export class AllowList {
  private readonly kept: ShortLived<AllowedServer[]>;

  constructor(
    private readonly table: Table,
    clock: Pick<Clock, 'now'>,
  ) {
    this.kept = new ShortLived(clock);
  }

  list(): Promise<AllowedServer[]> {
    return this.kept.read('all', () => this.table.query(AllowedServerRecord, keys.allowList()));
  }

  /** Adds a server unless one with the same id is there. */
  add(server: AllowedServer): Promise<boolean> {
    this.kept.forget();
    return this.table.putIf(
      { ...keys.allowedServer(server.id), ...server },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** Removes a server; false if it was not there. */
  remove(id: string): Promise<boolean> {
    this.kept.forget();
    return this.table.deleteIf(keys.allowedServer(id), { ConditionExpression: 'attribute_exists(pk)' });
  }
}
