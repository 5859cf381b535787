import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

export type AuditOutcome = 'success' | 'refused' | 'failure';

/** One security-relevant event, tied to a human where one is known. Never updated or deleted. */
export const auditRecordSchema = z.object({
  id: z.string(),
  /** ISO 8601 time. */
  at: z.string(),
  action: z.string(),
  outcome: z.enum(['success', 'refused', 'failure']),
  /** The principal key of the human it is recorded against; absent when none is known (e.g. a forged request). */
  principalKey: z.string().optional(),
  /** What it acted on: a vault id, a route, a session id. */
  target: z.string().optional(),
  correlationId: z.string(),
  /** The Slack trigger_id of the request that caused it, where there was one. */
  triggerId: z.string().optional(),
  /** Plain, non-secret facts. */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  /**
   * Its place in the hash chains (audit/chain.ts): the chain, its position there, the hash of the
   * record before it and its own. Absent only on records written before the trail was chained.
   */
  chain: z.string().optional(),
  seq: z.number().int().positive().optional(),
  prevHash: z.string().optional(),
  hash: z.string().optional(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;
const AuditRecordKind = recordKind('audit', auditRecordSchema);

/** A chained record: every chain field present. */
export type ChainedAuditRecord = AuditRecord &
  Required<Pick<AuditRecord, 'chain' | 'seq' | 'prevHash' | 'hash'>>;

/** What a whole-table read found: the records, and items that are not records at all. */
export interface AuditScan {
  records: AuditRecord[];
  /** Items that do not parse as an audit record (written by something other than Deputy). */
  unreadable: number;
}

/**
 * The audit table's only writer. It offers append and queries and nothing else: no update, no delete.
 * Each record is keyed by its place in its chain, so two writers can never put two records in one
 * place; indexes find them by principal and time (gsi3), target (gsi1), correlation id (gsi2) and
 * admin feed (gsi4, only the records of a feed).
 */
export class AuditRecords {
  constructor(private readonly table: Table) {}

  /**
   * Writes the record at its place in its chain; false when that place is taken already (by this
   * record, whose earlier write's answer was lost, or by another: the caller reads which).
   */
  append(record: ChainedAuditRecord, feed?: string): Promise<boolean> {
    const sk = keys.auditSortKey(record.at, record.id);
    return this.table.putIf(
      {
        ...keys.auditLink(record.chain, record.seq),
        ...keys.auditByPrincipal(record.principalKey, sk),
        ...keys.auditByTarget(record.target, sk),
        ...keys.auditByCorrelation(record.correlationId, sk),
        ...(feed ? keys.auditByFeed(feed, sk) : {}),
        ...record,
      },
      // A place is one record's: history is never overwritten, and a chain never forks.
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** The record at a place in a chain. */
  at(chain: string, seq: number): Promise<AuditRecord | undefined> {
    return this.table.get(AuditRecordKind, keys.auditLink(chain, seq));
  }

  /** A principal's records, oldest first (and those written before the trail was chained). */
  async byPrincipal(principalKey: string | undefined): Promise<AuditRecord[]> {
    const [chained, legacy] = await Promise.all([
      this.table.query(AuditRecordKind, { ...keys.auditOfPrincipal(principalKey), allPages: true }),
      this.table.query(AuditRecordKind, { ...keys.legacyAuditOfPrincipal(principalKey), allPages: true }),
    ]);
    return [...legacy, ...chained].sort(byTime);
  }

  /** A principal's newest chained records, newest first, at most `limit`. */
  recentByPrincipal(principalKey: string, limit: number): Promise<AuditRecord[]> {
    return this.table.query(AuditRecordKind, {
      ...keys.auditOfPrincipal(principalKey),
      newestFirst: true,
      limit,
    });
  }

  /** A principal's records from one time to another (ISO 8601, both included), oldest first. */
  async byPrincipalBetween(principalKey: string, fromIso: string, toIso: string): Promise<AuditRecord[]> {
    const [chained, legacy] = await Promise.all([
      this.table.query(AuditRecordKind, {
        ...keys.auditOfPrincipal(principalKey),
        sortBetween: [fromIso, `${toIso}\uffff`],
        allPages: true,
      }),
      this.table.query(AuditRecordKind, {
        ...keys.legacyAuditOfPrincipal(principalKey),
        sortBetween: [fromIso, `${toIso}\uffff`],
        allPages: true,
      }),
    ]);
    return [...legacy, ...chained].sort(byTime);
  }

  /** The newest records of an admin feed (written with that feed), newest first, at most `limit`. */
  recentInFeed(feed: string, limit: number): Promise<AuditRecord[]> {
    return this.table.query(AuditRecordKind, {
      index: 'gsi4',
      partition: keys.auditByFeed(feed, '').gsi4pk,
      newestFirst: true,
      limit,
    });
  }

  byTarget(target: string): Promise<AuditRecord[]> {
    return this.table.query(AuditRecordKind, {
      index: 'gsi1',
      partition: keys.auditByTarget(target, '').gsi1pk,
      allPages: true,
    });
  }

  byCorrelation(correlationId: string): Promise<AuditRecord[]> {
    return this.table.query(AuditRecordKind, {
      index: 'gsi2',
      partition: keys.auditByCorrelation(correlationId, '').gsi2pk,
      allPages: true,
    });
  }

  /** Every record in the table (the verifier's and the export's read; operators' credentials only). */
  async scan(): Promise<AuditScan> {
    const records: AuditRecord[] = [];
    let unreadable = 0;
    for await (const item of this.table.scanItems()) {
      const parsed = auditRecordSchema.safeParse(item);
      if (parsed.success) records.push(parsed.data);
      else unreadable += 1;
    }
    return { records, unreadable };
  }
}

function byTime(a: AuditRecord, b: AuditRecord): number {
  return a.at.localeCompare(b.at) || a.id.localeCompare(b.id);
}
