import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Store } from '../store/index.js';
import type { PeopleNotices } from './notices.js';

export interface PeopleServiceOptions {
  store: Store;
  connections: Pick<ConnectionsService, 'archiveAll'>;
  sessions: Pick<SessionService, 'stopAllOf'>;
  notices: PeopleNotices;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** DEPUTY_ADMINS: who hears when Deputy stops acting for someone. */
  admins: readonly string[];
}

/**
 * People who leave (docs/architecture.md#people-who-leave): when Slack says someone left the
 * workspace or revoked the app, Deputy stops acting for them at once and for good. Each step is
 * idempotent, so the same event delivered again (or after a crash half-way) finishes the job.
 */
export class PeopleService {
  constructor(private readonly deps: PeopleServiceOptions) {}

  /**
   * Deputy stops acting for the person: marked departed first (so nothing new starts while the rest
   * runs), then every credential in their vault archived, their live sessions interrupted (their
   * open approvals close with them), each step audited, and the admins told.
   */
  async departed(person: Principal, reason: string, correlationId: string): Promise<void> {
    const since = new Date(this.deps.clock.now()).toISOString();
    await this.deps.store.standing.setPerson({ principal: person, status: 'departed', reason, since });
    await this.deps.audit.record({
      action: AuditAction.PersonDeparted,
      outcome: 'success',
      principal: person,
      target: principalKey(person),
      correlationId,
      details: { reason },
    });
    const credentialsArchived = await this.deps.connections.archiveAll(person, reason, correlationId);
    const sessionsStopped = await this.deps.sessions.stopAllOf(person, reason, correlationId);
    await this.deps.notices
      .departed(this.deps.admins, { person, reason, credentialsArchived, sessionsStopped })
      .catch((error: unknown) =>
        this.deps.logger.warn('admins not told of a departure', { error: String(error), correlationId }),
      );
  }

  /**
   * Slack says the person is back (reactivated): Deputy acts for them again, from scratch: their
   * credentials stay archived, so they connect again. A suspension by an admin is not lifted.
   */
  async returned(person: Principal, correlationId: string): Promise<void> {
    // Slack sends user_change for every profile edit: a read first, a write only for someone who left.
    const key = principalKey(person);
    if ((await this.deps.store.standing.person(key))?.status !== 'departed') return;
    if (!(await this.deps.store.standing.clearPerson(key, 'departed'))) return;
    await this.deps.audit.record({
      action: AuditAction.PersonReturned,
      outcome: 'success',
      principal: person,
      target: principalKey(person),
      correlationId,
    });
  }

  /**
   * The app was removed from the workspace, or its bot token revoked: Deputy does nothing more there.
   * Runs, follow-ups and decisions are refused from now on, and every live session of the workspace
   * is interrupted. Slack can no longer be written to, so nobody is told in Slack; the audit says it.
   */
  async workspaceStopped(teamId: string, reason: string, correlationId: string): Promise<void> {
    const since = new Date(this.deps.clock.now()).toISOString();
    await this.deps.store.standing.setWorkspace({ teamId, status: 'stopped', reason, since });
    await this.deps.audit.record({
      action: AuditAction.WorkspaceStopped,
      outcome: 'success',
      target: teamId,
      correlationId,
      details: { reason },
    });
    const owners = new Map<string, Principal>();
    for (const sessionId of await this.deps.store.sessions.active()) {
      const session = await this.deps.store.sessions.get(sessionId);
      if (session?.principal.teamId === teamId)
        owners.set(principalKey(session.principal), session.principal);
    }
    for (const owner of owners.values()) await this.deps.sessions.stopAllOf(owner, reason, correlationId);
  }
}
