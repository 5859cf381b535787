import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

export type AuditOutcome = 'success' | 'refused' | 'failure';

/** One security-relevant event, tied to a human where one is known. Never updated or deleted. */
const auditRecordSchema = z.object({
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
  /** Plain, non-secret facts. */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;
const AuditRecordKind = recordKind('audit', auditRecordSchema);

/**
 * The audit table's only writer. It offers append and queries and nothing else: no update, no delete.
 * Items are keyed by principal and time, with indexes by target (gsi1) and correlation id (gsi2).
 */
export class AuditRecords {
  constructor(private readonly table: Table) {}

  async append(record: AuditRecord): Promise<void> {
    const key = keys.audit(record.principalKey, record.at, record.id);
    await this.table.put(
      {
        ...key,
        ...keys.auditByTarget(record.target, key.sk),
        ...keys.auditByCorrelation(record.correlationId, key.sk),
        ...record,
      },
      // An id collision must never overwrite history.
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  byPrincipal(principalKey: string | undefined): Promise<AuditRecord[]> {
    return this.table.query(AuditRecordKind, { ...keys.auditOfPrincipal(principalKey), allPages: true });
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
}
