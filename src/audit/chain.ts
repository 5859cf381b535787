import { createHash } from 'node:crypto';
import type { AuditRecord } from '../store/index.js';

/**
 * The audit trail's hash chains (docs/architecture.md#audit). Each process appends to chains of its
 * own (lanes), so concurrent writers never contend: a record takes the next position of its chain
 * with a conditional write, carries the hash of the record before it, and its own hash over
 * everything it says. An edited record no longer matches its hash, a deleted one leaves a gap, an
 * inserted one breaks the link of the record after it. Plain SHA-256, so anyone holding an export
 * can check it without Deputy's secrets.
 */

/** The predecessor of a chain's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** A record without its own hash: what the hash covers. */
export type UnsealedRecord = Omit<AuditRecord, 'hash'>;

/** The record with its hash: SHA-256 over its canonical JSON (every field but the hash, keys sorted). */
export function sealRecord(record: UnsealedRecord): AuditRecord {
  return { ...record, hash: recordHash(record) };
}

export function recordHash(record: UnsealedRecord | AuditRecord): string {
  const { hash: _ignored, ...body } = record as AuditRecord;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** JSON with object keys sorted and undefined left out, so the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export type ChainProblem = 'edited' | 'deleted' | 'inserted' | 'broken';

export interface ChainFinding {
  problem: ChainProblem;
  chain: string;
  /** The position where the chain stops holding. */
  seq: number;
  /** The record found there (for a deletion, the first one after the gap). */
  recordId?: string;
  at?: string;
  detail: string;
}

export interface ChainReport {
  chains: number;
  records: number;
  /** Records written before the trail was chained (they carry no chain): counted, not checked. */
  unchained: number;
  /** Every finding, earliest first. */
  findings: ChainFinding[];
}

/**
 * Checks every chain in `records` (any order: a table scan, or an export). Reports, per chain, each
 * record whose hash does not match what it says (edited), each missing position (deleted), each
 * record the chain goes around (inserted), and a chain that does not start at its beginning.
 * `partial`: the records are a slice (an export of a time range), so a chain may start anywhere.
 */
export function verifyChains(
  records: Iterable<AuditRecord>,
  options: { partial?: boolean } = {},
): ChainReport {
  const chains = new Map<string, AuditRecord[]>();
  let count = 0;
  let unchained = 0;
  for (const record of records) {
    count += 1;
    if (record.chain === undefined || record.seq === undefined) {
      unchained += 1;
      continue;
    }
    const chain = chains.get(record.chain) ?? [];
    chain.push(record);
    chains.set(record.chain, chain);
  }
  const findings: ChainFinding[] = [];
  for (const [chain, unsorted] of chains)
    findings.push(...checkChain(chain, unsorted, options.partial ?? false));
  findings.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? '') || a.seq - b.seq);
  return { chains: chains.size, records: count, unchained, findings };
}

function checkChain(chain: string, unsorted: AuditRecord[], partial: boolean): ChainFinding[] {
  const records = [...unsorted].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const findings: ChainFinding[] = [];
  const found = (problem: ChainProblem, record: AuditRecord, detail: string) =>
    findings.push({ problem, chain, seq: record.seq ?? 0, recordId: record.id, at: record.at, detail });
  let expectedSeq = partial ? (records[0]?.seq ?? 1) : 1;
  for (let i = 0; i < records.length; i += 1) {
    const record = records[i] as AuditRecord;
    const before = records[i - 1];
    const seq = record.seq ?? 0;
    if (recordHash(record) !== record.hash) found('edited', record, 'what it says does not match its hash');
    if (seq > expectedSeq) {
      const missing = seq - expectedSeq;
      found(
        'deleted',
        record,
        `${missing} record${missing === 1 ? '' : 's'} missing before it (positions ${expectedSeq}–${seq - 1})`,
      );
    } else if (record.prevHash !== (before?.hash ?? (partial ? record.prevHash : GENESIS_HASH))) {
      if (i >= 2 && record.prevHash === records[i - 2]?.hash && before)
        // The chain goes around the record before this one: that one was put in.
        found('inserted', before, 'the record after it follows the one before it');
      else if (before && recordHash(before) === before.hash)
        found('edited', before, 'it was rewritten with a new hash: the record after it does not follow it');
      else if (!before) found('broken', record, 'the chain does not start from its beginning');
    }
    expectedSeq = seq + 1;
  }
  return findings;
}
