import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import {
  type AuditRecord,
  auditRecordSchema,
  createStore,
  openDynamo,
  type Store,
  tableNames,
} from '../store/index.js';
import { type ChainReport, verifyChains } from './chain.js';

/**
 * The audit trail's offline tools (`npm run audit:verify`, `npm run audit:export`), run by an
 * operator with read access to the audit table; the app's own role may not scan it.
 */

export interface TrailCheck extends ChainReport {
  /** Items in the audit table that are not audit records at all. */
  unreadable: number;
}

/** Walks every chain of the audit table. */
export async function verifyTrail(store: Store): Promise<TrailCheck> {
  const { records, unreadable } = await store.audit.scan();
  return { ...verifyChains(records), unreadable };
}

/** What the verifier prints: the totals, then the first finding and how many there are. */
export function formatTrailCheck(check: TrailCheck): string {
  const lines = [
    `${check.records} audit records in ${check.chains} chains` +
      (check.unchained ? ` (${check.unchained} written before the trail was chained, not checked)` : ''),
  ];
  if (check.unreadable)
    lines.push(
      `${check.unreadable} items in the audit table are not audit records: something else wrote them`,
    );
  const [first] = check.findings;
  if (!first) {
    if (!check.unreadable) lines.push('Intact: every chain holds from its first record to its last.');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `NOT INTACT: ${check.findings.length} finding${check.findings.length === 1 ? '' : 's'}. The first:`,
    `  ${first.problem} record ${first.recordId ?? '?'} at ${first.at ?? '?'} (chain ${first.chain}, position ${first.seq}): ${first.detail}`,
  );
  for (const finding of check.findings.slice(1, 20))
    lines.push(
      `  then: ${finding.problem} record ${finding.recordId ?? '?'} (chain ${finding.chain}, position ${finding.seq})`,
    );
  if (check.findings.length > 20) lines.push(`  … and ${check.findings.length - 20} more`);
  return `${lines.join('\n')}\n`;
}

/** An export's selection: a time range, a person, or both. */
export const trailSelectionSchema = z
  .object({
    from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    /** A Slack user ID: that person's records in every workspace. */
    person: z
      .string()
      .regex(/^[UW][A-Z0-9_]{2,}$/, 'a Slack user ID (U… or W…)')
      .optional(),
  })
  .refine((s) => s.from !== undefined || s.to !== undefined || s.person !== undefined, {
    message: 'choose a time range (--from, --to) or a person (--person)',
  });
export type TrailSelection = z.infer<typeof trailSelectionSchema>;

/**
 * The selected records as JSON Lines, oldest first, each with its chain fields: an export of a time
 * range can be checked on its own with `npm run audit:verify -- --file`.
 */
export async function exportTrail(store: Store, selection: TrailSelection): Promise<string[]> {
  const from = selection.from ? new Date(selection.from).toISOString() : '';
  // A date alone means the whole day.
  const to = selection.to
    ? new Date(new Date(selection.to).getTime() + (selection.to.length === 10 ? 86_399_999 : 0)).toISOString()
    : '\uffff';
  const { records } = await store.audit.scan();
  return records
    .filter((r) => r.at >= from && r.at <= to)
    .filter((r) => !selection.person || r.principalKey?.endsWith(`:${selection.person}`))
    .sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id))
    .map((r) => JSON.stringify(r));
}

/** Records from JSON Lines (an export, or the copy in S3); a line that is not a record is reported. */
export function readTrailLines(text: string): { records: AuditRecord[]; unreadable: number } {
  const records: AuditRecord[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const parsed = auditRecordSchema.safeParse(safeJson(line));
    if (parsed.success) records.push(parsed.data);
    else unreadable += 1;
  }
  return { records, unreadable };
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Runs `use` with the store this environment's configuration names (only its storage is read). */
async function withTrailStore<T>(
  environment: NodeJS.ProcessEnv,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  const { storage } = loadConfig(environment);
  const dynamo = await openDynamo(storage);
  try {
    return await use(createStore(dynamo, tableNames(storage.tablePrefix), systemClock));
  } finally {
    await dynamo.close();
  }
}

/** `npm run audit:verify [-- --file export.jsonl]`: the table's chains, or an export's. */
export async function runAuditVerify(options: {
  environment: NodeJS.ProcessEnv;
  file?: string;
}): Promise<{ ok: boolean; lines: string[] }> {
  let check: TrailCheck;
  if (options.file) {
    const { records, unreadable } = readTrailLines(await readFile(options.file, 'utf8'));
    check = { ...verifyChains(records, { partial: true }), unreadable };
  } else check = await withTrailStore(options.environment, verifyTrail);
  return {
    ok: check.findings.length === 0 && check.unreadable === 0,
    lines: formatTrailCheck(check).trimEnd().split('\n'),
  };
}

/**
 * `npm run audit:export`: the selected records as JSON Lines, printed, or written to `out` (readable
 * by its owner only) with a count printed instead. A selection that does not parse is refused.
 */
export async function runAuditExport(options: {
  environment: NodeJS.ProcessEnv;
  selection: Record<string, unknown>;
  out?: string;
}): Promise<{ ok: boolean; lines: string[] }> {
  const selection = trailSelectionSchema.safeParse(options.selection);
  if (!selection.success)
    return {
      ok: false,
      lines: selection.error.issues.map((i) => `${i.path.join('.') || 'selection'}: ${i.message}`),
    };
  const lines = await withTrailStore(options.environment, (store) => exportTrail(store, selection.data));
  if (!options.out) return { ok: true, lines };
  await writeFile(options.out, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
  return { ok: true, lines: [`${lines.length} audit records written to ${options.out}`] };
}
