import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SessionRecord, SessionUsage, Store } from '../store/index.js';
import { utcDay } from './budgets.js';

/** How many times a count that lost to another relay's is read and tried again. */
const MAX_ATTEMPTS = 5;
/** Usage is kept at least until its month is over (budgets count the month), else as long as sessions. */
const MONTH_MS = 32 * 24 * 60 * 60 * 1000;

/**
 * Whether the session has cost its record holds and the usage ledger does not yet: not counted,
 * or counted and not known to be written (a write that failed, or a crash in between).
 */
export function usageBehind(session: SessionRecord): boolean {
  const usage = session.usage;
  if ((costCents(session) ?? 0) > (usage?.countedCents ?? 0)) return true;
  return usage !== undefined && (usage.writtenCents ?? 0) < usage.countedCents;
}

/**
 * Counts what sessions cost into the usage ledger (issue 19, item 3), each cent exactly once. A
 * session's record says how much of its cost is counted and on which day (moved by one conditional
 * write, so two relays never count the same cents); the ledger entries are then raised to what the
 * record says (which any replica may repeat), and the record marked written. A count that fails
 * throws: the relay fails and is run again, and a relay taking a session up finishes first what
 * its record shows behind (`usageBehind`).
 */
export class UsageMeter {
  constructor(private readonly deps: { store: Store; clock: Clock; logger: Logger; retentionMs: number }) {}

  /**
   * Counts the session's cost as its record says (`listCost`): what is new of it goes to the UTC
   * day of `atMs` (when the turn that spent it ended). Returns the session's usage as counted.
   */
  async count(session: SessionRecord, atMs: number): Promise<SessionUsage | undefined> {
    let record: SessionRecord | undefined = session;
    for (let attempt = 0; record && attempt < MAX_ATTEMPTS; attempt += 1) {
      const cost = costCents(record);
      const usage = record.usage;
      const counted = usage?.countedCents;
      if (cost === undefined || cost <= (counted ?? 0)) {
        // Nothing new; what was counted and not written is written now, every day of it.
        if (usage && (usage.writtenCents ?? 0) < usage.countedCents)
          await this.write(record, usage, undefined);
        return usage;
      }
      const day = utcDay(atMs);
      const days = { ...usage?.days };
      days[day] = (days[day] ?? 0) + cost - (counted ?? 0);
      const next = { ...usage, countedCents: cost, days };
      if (await this.deps.store.sessions.moveUsage(record.sessionId, next, counted)) {
        // The ledger held all that was counted before: only this day changed. Else every day is written.
        const behind = usage !== undefined && (usage.writtenCents ?? 0) < usage.countedCents;
        await this.write(record, next, behind ? undefined : day);
        return { ...next, writtenCents: cost };
      }
      // Another relay counted meanwhile: read what it counted (and the cost it wrote) and go on from there.
      const stored: SessionRecord | undefined = await this.deps.store.sessions.get(record.sessionId);
      record = stored && (costCents(stored) ?? 0) < cost ? { ...stored, listCost: record.listCost } : stored;
    }
    throw new Error("the session's usage kept moving under this count");
  }

  /**
   * A relay taking the session up finishes a count a failure or a crash cut short: the cost its
   * record holds goes to the day its last turn ended (a session from before usage was counted
   * counts its cost so far there), and what is counted is written.
   */
  async settle(session: SessionRecord): Promise<void> {
    const endedMs = session.finishedAt ? Date.parse(session.finishedAt) : Number.NaN;
    await this.count(session, Number.isFinite(endedMs) ? endedMs : this.deps.clock.now());
  }

  /** The ledger entries of the session's day `only` (every day when undefined), then the record marked written. */
  private async write(session: SessionRecord, usage: SessionUsage, only: string | undefined): Promise<void> {
    const days = Object.entries(usage.days).filter(([day]) => only === undefined || day === only);
    await Promise.all(
      days.map(([day, spentCents]) => {
        const dayMs = Date.parse(`${day}T00:00:00Z`);
        return this.deps.store.usage.write(
          {
            sessionId: session.sessionId,
            day,
            spentCents,
            agentName: session.agentName,
            principalKey: session.principalKey,
          },
          dayMs + Math.max(this.deps.retentionMs, MONTH_MS),
        );
      }),
    );
    await this.deps.store.sessions.markUsageWritten(session.sessionId, usage.countedCents);
  }
}

/** The session's cost in US cents as its record holds it; undefined when it has none (or not in dollars). */
function costCents(session: SessionRecord): number | undefined {
  if (session.listCost?.currency !== 'USD') return undefined;
  return Number(session.listCost.amount);
}
