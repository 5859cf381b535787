import { type Clock, withDeadline } from '../clock.js';

/**
 * Slack waits 3 s for a view submission's answer, and inline errors must be in that answer: work
 * whose outcome decides them gets this long, then counts as failed.
 */
export const SUBMISSION_BUDGET_MS = 2000;

export function withinBudget<T>(clock: Clock, work: Promise<T>): Promise<T> {
  return withDeadline(clock, work, SUBMISSION_BUDGET_MS, 'answering the submission');
}
