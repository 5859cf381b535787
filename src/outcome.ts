/**
 * What a failed call to a remote API says about whether it took effect. A refusal (4xx other than
 * 408 and 429) did not; an answer that never came (a timeout, a dropped connection) or a 5xx may
 * have; a 429 did not, and says when to try again.
 */
export type FailedCall = 'refused' | 'rate_limited' | 'unknown';

export function failedCall(error: unknown): FailedCall {
  const status = statusOf(error);
  if (status === 429) return 'rate_limited';
  if (status === undefined || status === 408 || status >= 500) return 'unknown';
  return 'refused';
}

export function statusOf(error: unknown): number | undefined {
  const status = error instanceof Error && 'status' in error ? Number(error.status) : Number.NaN;
  return Number.isFinite(status) ? status : undefined;
}

/** The wait a 429 or 503 asked for (`retry-after`, in seconds), capped at 30 s. */
export function retryAfterMs(error: unknown): number | undefined {
  const headers =
    error instanceof Error && 'headers' in error ? (error.headers as Headers | undefined) : undefined;
  const value = headers?.get?.('retry-after');
  const seconds = value ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) ? Math.min(seconds * 1000, 30_000) : undefined;
}

/**
 * Makes a call that must take effect exactly once, such as a create or a send that is not
 * idempotent. The call is made without the client's own retries (pass `{ maxRetries: 0 }`); after a
 * failure whose outcome is unknown (no answer, a timeout, a 5xx), and after a 409 when `conflicts`
 * says a repeat would conflict with the call's own earlier attempt rather than duplicate it, `find`
 * reads whether it took effect, and the call is made again only when it did not. A 429 waits as
 * asked; a refusal is thrown at once.
 */
export async function exactlyOnce<T>(
  clock: { sleep(ms: number): Promise<void> },
  call: () => Promise<T>,
  find: () => Promise<T | undefined>,
  options: {
    attempts?: number;
    conflicts?: boolean;
    /** Checked before each attempt after the first: false when another process took the work over. */
    stillOurs?: () => Promise<boolean>;
  } = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt += 1) {
    if (attempt > 1 && options.stillOurs && !(await options.stillOurs())) throw new TakenOver();
    try {
      return await call();
    } catch (error) {
      const failed = failedCall(error);
      const ownConflict = options.conflicts === true && statusOf(error) === 409;
      if (failed === 'unknown' || ownConflict) {
        // Where a repeat would conflict rather than duplicate, a look that fails is as good as a miss.
        const found = options.conflicts ? await find().catch(() => undefined) : await find();
        if (found !== undefined) return found;
      }
      // A conflict that is not the call's own is someone else's: trying again cannot help.
      if (failed === 'refused' || attempt >= attempts) throw error;
      await clock.sleep(retryAfterMs(error) ?? 250 * 2 ** attempt);
    }
  }
}

/** Another process took over the work this one was retrying (its lease lapsed meanwhile). */
export class TakenOver extends Error {
  constructor() {
    super('another process took this over');
    this.name = 'TakenOver';
  }
}
