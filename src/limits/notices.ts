import type { Principal } from '../identity/principal.js';
import type { LimitedAction } from '../store/index.js';

/** A person who kept going past a rate limit, for the admins to read (once an hour per person). */
export interface LimitHit {
  person: Principal;
  action: LimitedAction;
  window: 'minute' | 'hour';
  limit: number;
}

/** What the limits tell Slack; the outbox implements it. */
export interface LimitNotices {
  /** Tells each of `admins` (Slack user ids) that someone was held back by a rate limit. */
  limitHit(admins: readonly string[], hit: LimitHit): Promise<void>;
}
