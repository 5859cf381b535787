import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

/** Records are kept this long after they stop being used, unless DEPUTY_RETENTION_DAYS says otherwise. */
export const DEFAULT_RETENTION_DAYS = 90;
export const DAY_MS = 86_400_000;

/**
 * What a purge item names: a session (and everything about it), or a disconnected connection; or a
 * session to archive at Anthropic once it has rested (`session_archive`, before its purge).
 * `forgotten`: the person asked to be forgotten, so no retention period applies.
 */
export type PurgeTarget =
  | { kind: 'session'; sessionId: string; forgotten?: boolean }
  | { kind: 'session_archive'; sessionId: string }
  | { kind: 'connection'; principalKey: string; connectorId: string };

const PurgeItemRecord = recordKind(
  'purge item',
  z.object({
    dueMs: z.number(),
    target: z.discriminatedUnion('kind', [
      z.object({
        kind: z.literal('session'),
        sessionId: z.string().min(1),
        forgotten: z.boolean().optional(),
      }),
      z.object({ kind: z.literal('session_archive'), sessionId: z.string().min(1) }),
      z.object({
        kind: z.literal('connection'),
        principalKey: z.string().min(1),
        connectorId: z.string().min(1),
      }),
    ]),
  }),
);
export type PurgeItem = z.infer<typeof PurgeItemRecord.schema>;

const CursorRecord = recordKind('purge cursor', z.object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }));

function targetName(target: PurgeTarget): string {
  switch (target.kind) {
    case 'session':
      return `session#${target.sessionId}`;
    case 'session_archive':
      return `archive#${target.sessionId}`;
    case 'connection':
      return `connection#${target.principalKey}#${target.connectorId}`;
  }
}

/**
 * When records about people fall due to be purged: one item per thing, filed under the UTC day it
 * falls due, so a sweep reads only the days up to today and never scans.
 */
export class Retention {
  constructor(private readonly table: Table) {}

  async schedule(target: PurgeTarget, dueMs: number): Promise<void> {
    await this.table.put({ ...keys.purgeItem(dueMs, targetName(target)), dueMs, target });
  }

  /** The items of `day` due by `nowMs`, in due order. */
  due(day: string, nowMs: number): Promise<PurgeItem[]> {
    return this.table.query(PurgeItemRecord, { ...keys.purgeDueBy(day, nowMs), allPages: true });
  }

  /** Takes back what `schedule(target, dueMs)` filed (someone forgotten needs no reminder of them). */
  async cancel(target: PurgeTarget, dueMs: number): Promise<void> {
    await this.table.delete(keys.purgeItem(dueMs, targetName(target)));
  }

  async done(item: PurgeItem): Promise<void> {
    await this.table.delete(keys.purgeItem(item.dueMs, targetName(item.target)));
  }

  /** The first day not yet swept clean; undefined before the first sweep. */
  async cursor(): Promise<string | undefined> {
    return (await this.table.get(CursorRecord, keys.purgeCursor()))?.day;
  }

  async setCursor(day: string): Promise<void> {
    await this.table.put({ ...keys.purgeCursor(), day });
  }
}
