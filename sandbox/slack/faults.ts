/** A failure to answer instead of the real result. */
export interface InjectedFailure {
  error: string;
  /** For `ratelimited`: the Retry-After header (seconds). Defaults to 1 for `ratelimited`. */
  retryAfterSeconds?: number;
  /** Defaults to 429 for `ratelimited`, 404 for response_url, otherwise 200 (Slack's usual). */
  httpStatus?: number;
  /** Only calls whose arguments this accepts (a conversation, a thread); others pass untouched. */
  when?: (args: Record<string, unknown>) => boolean;
}

interface Pending<T> {
  failure: T;
  remaining: number;
}

/** Failures (or holds) queued per method, each used `times` times, in the order injected. */
export class FaultQueue<T = InjectedFailure> {
  private readonly pending = new Map<string, Pending<T>[]>();

  inject(method: string, failure: T, times = 1): void {
    const list = this.pending.get(method) ?? [];
    list.push({ failure, remaining: times });
    this.pending.set(method, list);
  }

  /**
   * The next failure for `method` that applies to a call with `args` (see InjectedFailure.when), used
   * up by this call.
   */
  take(method: string, args: Record<string, unknown> = {}): T | undefined {
    const list = this.pending.get(method);
    if (!list) return undefined;
    const index = list.findIndex(({ failure }) => {
      const when = (failure as { when?: (args: Record<string, unknown>) => boolean }).when;
      return !when || when(args);
    });
    const entry = list[index];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) list.splice(index, 1);
    return entry.failure;
  }

  clear(): void {
    this.pending.clear();
  }
}
