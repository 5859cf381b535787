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
