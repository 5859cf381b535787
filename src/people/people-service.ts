import type { AdminAccess } from '../agents/admin-access.js';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { CatalogAccountService } from '../connections/catalog-accounts.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import type { SessionService } from '../sessions/session-service.js';
import type { SlackDirectory } from '../slack/directory.js';
import type { Store } from '../store/index.js';
import type { MemoryService } from '../vaults/memory-service.js';
import type { PeopleNotices } from './notices.js';

/** What an admin's revoke, suspend or resume came to. */
export type AdminActOutcome =
  | { kind: 'not_admin' }
  /** The person named is the admin themself: Deputy does not let an admin lock themself out by a typo. */
  | { kind: 'self' }
  | { kind: 'revoked'; credentialsArchived: number; sessionsStopped: number }
  | { kind: 'suspended'; sessionsStopped: number }
  | { kind: 'resumed' }
  | { kind: 'not_suspended' };

/** What an admin's "everyone reconnect this connector" came to. */
export type ForceReconnectOutcome =
  | { kind: 'not_admin' }
  | { kind: 'unknown_connector' }
  | { kind: 'forced'; connectorName: string; people: number; sessionsStopped: number; failed: number };

/** How long a departure's clean-up may take before the sweep takes it over. */
const UNFINISHED_DEPARTURE_GRACE_MS = 60_000;

export interface PeopleServiceOptions {
  store: Store;
  access: Pick<AdminAccess, 'authorize'>;
  connections: Pick<ConnectionsService, 'archiveAll' | 'forceReconnect' | 'connector'>;
  /** Their memory store goes with their credentials when Deputy stops acting for them. */
  memories: Pick<MemoryService, 'archive'>;
  sessions: Pick<SessionService, 'stopAllOf'>;
  catalogAccounts: Pick<CatalogAccountService, 'disconnect'>;
  notices: PeopleNotices;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** DEPUTY_ADMINS: who hears when Deputy stops acting for someone. */
  admins: readonly string[];
  /** Which workspace the configured bot token works in (Slack's `auth.test`). */
  directory: Pick<SlackDirectory, 'installedTeam' | 'forgetGroup'>;
}

/**
 * People who leave (docs/architecture.md#people-who-leave): when Slack says someone left the
 * workspace or revoked the app, Deputy stops acting for them at once and for good. Each step is
 * idempotent, so the same event delivered again changes nothing more. Slack has had its 200 before
 * any of this runs, so a step that fails is not retried by Slack: it is logged as a listener failure.
 */
export class PeopleService {
  constructor(private readonly deps: PeopleServiceOptions) {}

  /**
   * Deputy stops acting for the person: marked departed first (so nothing new starts while the rest
   * runs), then every credential in their vault archived, their live sessions interrupted (their
   * open approvals close with them), each step audited, and the admins told.
   */
  async departed(person: Principal, reason: string, correlationId: string): Promise<void> {
    const now = this.deps.clock.now();
    // Deputy's own revocation of their Slack connection, not them leaving.
    if (
      reason === 'tokens_revoked' &&
      (await this.deps.store.standing.revokedByDeputy(principalKey(person), now))
    ) {
      this.deps.logger.info('tokens_revoked after Deputy revoked the token itself', { correlationId });
      return;
    }
    // A suspension stands (it is the admins' to lift); a departure already recorded is not told twice.
    const marked = await this.deps.store.standing.markDeparted({
      principal: person,
      status: 'departed',
      reason,
      since: new Date(now).toISOString(),
    });
    if (marked === 'marked') {
      // Noted before the clean-up: Slack has its 200 already, so a clean-up that fails here is
      // finished by the sweep, not by a redelivery.
      await this.deps.store.standing.departureUnfinished({ principal: person, reason, sinceMs: now });
      await this.deps.audit.record({
        action: AuditAction.PersonDeparted,
        outcome: 'success',
        principal: person,
        target: principalKey(person),
        correlationId,
        details: { reason },
      });
    }
    await this.cleanUpDeparture(person, reason, correlationId);
  }

  /**
   * The sweep: departures whose clean-up did not finish (the process failed or died half-way) are
   * cleaned up again. Only those noted a minute ago or more, so one still running is left alone.
   */
  async finishDepartures(correlationId: string): Promise<number> {
    const due = this.deps.clock.now() - UNFINISHED_DEPARTURE_GRACE_MS;
    let finished = 0;
    for (const departure of await this.deps.store.standing.unfinishedDepartures()) {
      if (departure.sinceMs > due) continue;
      const key = principalKey(departure.principal);
      // Back since (a reactivation lifted the departure): there is nothing left to clean up.
      if ((await this.deps.store.standing.person(key))?.status !== 'departed') {
        await this.deps.store.standing.departureFinished(key);
        continue;
      }
      try {
        await this.cleanUpDeparture(departure.principal, departure.reason, correlationId);
        finished += 1;
      } catch (error) {
        this.deps.logger.warn('a departure is still not cleaned up', { error: String(error), correlationId });
      }
    }
    return finished;
  }

  /**
   * Live sessions stopped first (if archiving fails, nothing goes on working with the credentials
   * meanwhile), then every credential archived; the admins are told once, when it is all done.
   * Every step is idempotent.
   */
  private async cleanUpDeparture(person: Principal, reason: string, correlationId: string): Promise<void> {
    const sessionsStopped = await this.deps.sessions.stopAllOf(person, reason, correlationId);
    const credentialsArchived = await this.deps.connections.archiveAll(person, reason, correlationId);
    await this.deps.memories.archive(person, reason, correlationId);
    const key = principalKey(person);
    if (!(await this.deps.store.standing.unfinishedDeparture(key))) return;
    await this.deps.notices
      .departed(this.deps.admins, { person, reason, credentialsArchived, sessionsStopped })
      .catch((error: unknown) =>
        this.deps.logger.warn('admins not told of a departure', { error: String(error), correlationId }),
      );
    await this.deps.store.standing.departureFinished(key);
  }

  /**
   * An admin's revoke: every credential in the person's vault archived and every live session
   * stopped, at once. They stay free to connect again (suspend them to stop that).
   */
  async revoke(admin: Principal, person: Principal, correlationId: string): Promise<AdminActOutcome> {
    const refused = await this.refusedAdmin(admin, person, '/agent revoke', correlationId);
    if (refused) return refused;
    await this.adminAudit(AuditAction.PersonRevoked, admin, person, correlationId);
    const credentialsArchived = await this.deps.connections.archiveAll(
      person,
      'revoked_by_admin',
      correlationId,
    );
    const sessionsStopped = await this.deps.sessions.stopAllOf(person, 'revoked_by_admin', correlationId);
    await this.deps.memories.archive(person, 'revoked_by_admin', correlationId);
    return { kind: 'revoked', credentialsArchived, sessionsStopped };
  }

  /**
   * An admin's suspend: the person can no longer run, connect, steer or decide, and their live
   * sessions stop; their connections are kept, so a resume restores them as they were.
   */
  async suspend(admin: Principal, person: Principal, correlationId: string): Promise<AdminActOutcome> {
    const refused = await this.refusedAdmin(admin, person, '/agent suspend', correlationId);
    if (refused) return refused;
    const since = new Date(this.deps.clock.now()).toISOString();
    // On the record before it takes effect: no admin change goes unaudited (security R46).
    await this.adminAudit(AuditAction.PersonSuspended, admin, person, correlationId);
    // Someone who left stays departed (a resume must not lift that); they are refused either way.
    if ((await this.deps.store.standing.person(principalKey(person)))?.status !== 'departed') {
      await this.deps.store.standing.setPerson({
        principal: person,
        status: 'suspended',
        reason: `by ${admin.userId}`,
        since,
      });
    }
    const sessionsStopped = await this.deps.sessions.stopAllOf(person, 'suspended_by_admin', correlationId);
    return { kind: 'suspended', sessionsStopped };
  }

  /** An admin's resume: a suspension lifted (a departure is Slack's to lift, not an admin's). */
  async resume(admin: Principal, person: Principal, correlationId: string): Promise<AdminActOutcome> {
    const refused = await this.refusedAdmin(admin, person, '/agent resume', correlationId);
    if (refused) return refused;
    const key = principalKey(person);
    if ((await this.deps.store.standing.person(key))?.status !== 'suspended')
      return { kind: 'not_suspended' };
    // On the record before it takes effect (security R46).
    await this.adminAudit(AuditAction.PersonResumed, admin, person, correlationId);
    if (!(await this.deps.store.standing.clearPerson(key, 'suspended'))) return { kind: 'not_suspended' };
    return { kind: 'resumed' };
  }

  /**
   * An admin makes everyone reconnect a connector (its client secret leaked, its scopes changed):
   * each live connection's credential archived and its token revoked, the person asked by DM to
   * reconnect, and their live sessions that use it stopped. Audited first, by the admin.
   */
  async forceReconnect(
    admin: Principal,
    connectorId: string,
    correlationId: string,
  ): Promise<ForceReconnectOutcome> {
    if (
      !(await this.deps.access.authorize(admin, '/agent force-reconnect', correlationId)) ||
      (await this.deps.store.standing.refusal(admin))
    )
      return { kind: 'not_admin' };
    const connector = await this.deps.connections.connector(connectorId);
    if (!connector) return { kind: 'unknown_connector' };
    await this.deps.audit.record({
      action: AuditAction.ReconnectForced,
      outcome: 'success',
      principal: admin,
      target: connectorId,
      correlationId,
    });
    const outcome = await this.deps.connections.forceReconnect(connectorId, correlationId);
    // The catalog account came from the same client: it goes too (an admin connects it again).
    await this.deps.catalogAccounts.disconnect(admin, connectorId, correlationId);
    return { kind: 'forced', connectorName: connector.name, ...outcome };
  }

  private async refusedAdmin(
    admin: Principal,
    person: Principal,
    surface: string,
    correlationId: string,
  ): Promise<AdminActOutcome | undefined> {
    if (!(await this.deps.access.authorize(admin, surface, correlationId))) return { kind: 'not_admin' };
    // An admin Deputy no longer acts for (suspended, departed) has no kill switch either.
    if (await this.deps.store.standing.refusal(admin)) return { kind: 'not_admin' };
    return principalKey(admin) === principalKey(person) ? { kind: 'self' } : undefined;
  }

  private adminAudit(action: AuditAction, admin: Principal, person: Principal, correlationId: string) {
    return this.deps.audit.record({
      action,
      outcome: 'success',
      principal: admin,
      target: principalKey(person),
      correlationId,
    });
  }

  /**
   * Slack says the person is back (reactivated): Deputy acts for them again, from scratch: their
   * credentials stay archived, so they connect again. A suspension by an admin is not lifted.
   */
  async returned(person: Principal, correlationId: string): Promise<void> {
    // Slack sends user_change for every profile edit: a read first, a write only for someone who left.
    const key = principalKey(person);
    // Only a deactivation is undone by a reactivation; someone who revoked Deputy stays departed.
    const standing = await this.deps.store.standing.person(key);
    if (standing?.status !== 'departed' || standing.reason !== 'deactivated') return;
    if (!(await this.deps.store.standing.clearPerson(key, 'departed'))) return;
    await this.deps.store.standing.departureFinished(key);
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
    for (const sessionId of await this.deps.store.relayIndex.live()) {
      const session = await this.deps.store.sessions.get(sessionId);
      if (session?.principal.teamId === teamId)
        owners.set(principalKey(session.principal), session.principal);
    }
    for (const owner of owners.values()) await this.deps.sessions.stopAllOf(owner, reason, correlationId);
  }

  /**
   * At start: a workspace stopped by an uninstall (or a revoked bot token) whose bot token works
   * again has installed the app again, so Deputy works there again. A revoked token fails
   * `auth.test`, so a restart with the old token lifts nothing. People who left stay departed.
   */
  async resumeIfInstalled(correlationId: string): Promise<boolean> {
    const teamId = await this.deps.directory.installedTeam();
    if (!(await this.deps.store.standing.clearWorkspace(teamId))) return false;
    await this.deps.audit.record({
      action: AuditAction.WorkspaceResumed,
      outcome: 'success',
      target: teamId,
      correlationId,
      details: { reason: 'installed' },
    });
    return true;
  }

  /** Slack says a user group changed (members, or the group itself): its members are read afresh. */
  groupChanged(groupId: string): void {
    this.deps.directory.forgetGroup(groupId);
  }
}
