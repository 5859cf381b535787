import { z } from 'zod';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

const GrantRecord = recordKind('standing grant', z.object({ untilMs: z.number() }));

/** Standing "approve for 15 minutes" grants: one tool, in one session, until a time. */
export class Grants {
  constructor(private readonly table: Table) {}

  async grant(sessionId: string, server: string, tool: string, untilMs: number): Promise<void> {
    await this.table.put({
      ...keys.grant(sessionId, server, tool),
      untilMs,
      [EXPIRY_ATTRIBUTE]: epochSeconds(untilMs),
    });
  }

  async has(sessionId: string, server: string, tool: string, nowMs: number): Promise<boolean> {
    const grant = await this.table.get(GrantRecord, keys.grant(sessionId, server, tool));
    return (grant?.untilMs ?? 0) > nowMs;
  }
}
