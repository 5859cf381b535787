import type { Principal } from '../identity/principal.js';

/** What happened when Deputy stopped acting for someone, for the admins to read. */
export interface DepartureSummary {
  person: Principal;
  /** Why: `tokens_revoked`, `deactivated`. */
  reason: string;
  credentialsArchived: number;
  sessionsStopped: number;
}

/** What the people service tells Slack; the outbox implements it. */
export interface PeopleNotices {
  /** Tells each of `admins` (Slack user ids) that Deputy stopped acting for someone. */
  departed(admins: readonly string[], summary: DepartureSummary): Promise<void>;
}
