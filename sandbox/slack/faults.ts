/** A failure to answer instead of the real result. */
export interface InjectedFailure {
  error: string;
  /** For `ratelimited`: the Retry-After header (seconds). Defaults to 1 for `ratelimited`. */
  retryAfterSeconds?: number;
  /** Defaults to 429 for `ratelimited`, 404 for response_url, otherwise 200 (Slack's usual). */
  httpStatus?: number;
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

  /** The next failure for `method`, used up by this call. */
  take(method: string): T | undefined {
    const list = this.pending.get(method);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) list.shift();
    return head.failure;
  }

  clear(): void {
    this.pending.clear();
  }
}
