import type { Clock } from '../clock.js';

/**
 * How long a read of configuration that rarely changes (agents, the allow list, tool catalogs,
 * catalog accounts) is reused in one process. A write through this process forgets it at once;
 * another replica's write reaches this one's reads within this time (docs/architecture.md#storage).
 */
export const CONFIGURATION_TTL_MS = 10_000;

/**
 * Reads kept for a while by key: concurrent readers of one key share one read, and a read that
 * fails is not kept. Callers must not change what they are given (it is shared).
 */
export class ShortLived<T> {
  private readonly entries = new Map<string, { until: number; value: Promise<T> }>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly ttlMs: number = CONFIGURATION_TTL_MS,
  ) {}

  read(key: string, read: () => Promise<T>): Promise<T> {
    const now = this.clock.now();
    const kept = this.entries.get(key);
    if (kept && kept.until > now) return kept.value;
    const value = read();
    const entry = { until: now + this.ttlMs, value };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Forgets one key (or all): what was written must be read afresh. */
  forget(key?: string): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }
}
