/**
 * Slack waits 3 s for a view submission's answer, and inline errors must be in that answer: work
 * whose outcome decides them gets this long, then counts as failed.
 */
export const SUBMISSION_BUDGET_MS = 2000;

export function withinBudget<T>(work: Promise<T>, ms = SUBMISSION_BUDGET_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('took too long to answer')), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
