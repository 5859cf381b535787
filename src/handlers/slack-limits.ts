/**
 * Slack waits 3 s for a view submission's answer, and inline errors must be in that answer: work
 * whose outcome decides them gets this long, then counts as failed.
 */
export const SUBMISSION_BUDGET_MS = 2000;
