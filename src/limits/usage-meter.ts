import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SessionRecord, SessionUsage, Store } from '../store/index.js';
import { utcDay } from './budgets.js';

/** How many times a count that lost to another relay's is read and tried again. */
const MAX_ATTEMPTS = 5;
/** Usage is kept at least until its month is over (budgets count the month), else as long as sessions. */
const MONTH_MS = 32 * 24 * 60 * 60 * 1000;

/**
 * Counts what sessions cost into the usage ledger (issue 19, item 3), each cent exactly once. A
 * session's record says how much of its cost is counted and on which day (moved by one conditional
 * write, so two relays never count the same cents); the ledger entries are then raised to what the
 * record says, which any replica may repeat. A crash between the two is repaired by the session's
 * next count, or when a relay next takes it up (`settle`).
 */
export class UsageMeter {
  constructor(private readonly deps: { store: Store; clock: Clock; logger: Logger; retentionMs: number }) {}

  /**
   * Counts the session's cost as its record now says (`listCost`), what is new of it on today's
   * UTC day. Returns the session's usage as counted. Never fails the caller: a count that could not
   * be made is made by the next one (the cost is cumulative).
   */
  async count(session: SessionRecord): Promise<SessionUsage | undefined> {
    try {
      let record: SessionRecord | undefined = session;
      for (let attempt = 0; record && attempt < MAX_ATTEMPTS; attempt += 1) {
        const cost = costCents(record);
        const counted = record.usage?.countedCents;
        // Nothing new (the ledger got what was counted, or `settle` repairs it).
        if (cost === undefined || cost <= (counted ?? 0)) return record.usage;
        const today = utcDay(this.deps.clock.now());
        const days = { ...record.usage?.days };
        days[today] = (days[today] ?? 0) + cost - (counted ?? 0);
        const next = { countedCents: cost, days };
        if (await this.deps.store.sessions.moveUsage(record.sessionId, next, counted)) {
          await this.write(record, next, 2);
          return next;
        }
        // Another relay counted meanwhile: read what it counted (and the cost it wrote) and go on from there.
        const stored: SessionRecord | undefined = await this.deps.store.sessions.get(record.sessionId);
        record =
          stored && (costCents(stored) ?? 0) < cost ? { ...stored, listCost: record.listCost } : stored;
      }
    } catch (error) {
      this.deps.logger.warn('session usage not counted yet', {
        sessionId: session.sessionId,
        error: String(error),
      });
    }
    return undefined;
  }

  /**
   * A relay taking the session up: a count a crash cut short is finished (its cost written, not
   * counted), and every day of what is counted written to the ledger again (counted, not written).
   */
  async settle(session: SessionRecord): Promise<void> {
    const usage = (await this.count(session)) ?? session.usage;
    if (!usage) return;
    await this.write(session, usage, Number.POSITIVE_INFINITY).catch((error: unknown) =>
      this.deps.logger.warn('session usage not settled', {
        sessionId: session.sessionId,
        error: String(error),
      }),
    );
  }

  /**
   * The ledger entries of the session's latest `days` days, raised to what its record counted. Two
   * after a count: today's, and the day before it in the session's life, which a crash after the
   * previous count may have left short.
   */
  private async write(session: SessionRecord, usage: SessionUsage, days: number): Promise<void> {
    const latest = Object.entries(usage.days)
      .sort(([a], [b]) => (a < b ? 1 : -1))
      .slice(0, days);
    await Promise.all(
      latest.map(([day, spentCents]) => {
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
  }
}

/** The session's cost in US cents as its record holds it; undefined when it has none (or not in dollars). */
function costCents(session: SessionRecord): number | undefined {
  if (session.listCost?.currency !== 'USD') return undefined;
  return Number(session.listCost.amount);
}
