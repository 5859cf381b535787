import type Anthropic from '@anthropic-ai/sdk';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import { type Principal, principalKey } from '../identity/principal.js';
import { personHolder } from '../limits/live-limit.js';
import type { Logger } from '../logger.js';
import { statusOf } from '../outcome.js';
import { ARCHIVE_AFTER_MS, type SessionService } from '../sessions/session-service.js';
import {
  DAY_MS,
  type PurgeItem,
  type SessionRecord,
  type StandingRefusal,
  type Store,
} from '../store/index.js';
import type { MemoryService } from '../vaults/memory-service.js';
import type { VaultService } from '../vaults/vault-service.js';

/** How soon a forgotten person's session still stopping is tried again. */
const FORGET_RETRY_MS = 60_000;
/** How soon an item whose purge failed (Anthropic unavailable) is tried again. */
const PURGE_RETRY_MS = 10 * 60_000;
/** Days a sweep may catch up at once (after a long outage), so one sweep stays short. */
const DAYS_PER_SWEEP = 7;

export type ForgetOutcome =
  | { kind: 'refused'; refusal: StandingRefusal }
  | {
      kind: 'forgotten';
      credentialsArchived: number;
      sessionsDeleted: number;
      /** Sessions still stopping: deleted by the sweep once they are at rest. */
      sessionsPending: number;
    };

export interface PrivacyServiceOptions {
  store: Store;
  anthropic: Anthropic;
  connections: Pick<ConnectionsService, 'archiveAll'>;
  sessions: Pick<SessionService, 'stopAllOf' | 'archiveRested'>;
  vaults: Pick<VaultService, 'forget'>;
  memories: Pick<MemoryService, 'erase'>;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** DEPUTY_RETENTION_DAYS in milliseconds. */
  retentionMs: number;
}

/**
 * What Deputy keeps about people, and for how long (docs/architecture.md#retention): `/agent forget-me`
 * deletes everything about a person but the audit trail, and the sweep purges sessions (with their
 * approvals and run requests) and disconnected connections once the retention period has passed.
 * Audit records are kept for their own retention, in their own table.
 */
export class PrivacyService {
  constructor(private readonly deps: PrivacyServiceOptions) {}

  /** DEPUTY_RETENTION_DAYS, for telling people. */
  get retentionDays(): number {
    return Math.round(this.deps.retentionMs / DAY_MS);
  }

  /**
   * Forgets the person: live sessions stopped, every credential archived (and revoked where the
   * provider allows), their vault archived, and their connections, sessions, approvals and run
   * requests deleted, here and at Anthropic. Sessions still stopping are deleted by the sweep once
   * at rest. Someone Deputy no longer acts for is refused: their standing is the admins' record.
   */
  async forget(person: Principal, correlationId: string): Promise<ForgetOutcome> {
    const { store, audit } = this.deps;
    const refusal = await store.standing.refusal(person);
    if (refusal) {
      await audit.record({
        action: AuditAction.StandingRefused,
        outcome: 'refused',
        principal: person,
        target: '/agent forget-me',
        correlationId,
        details: { refusal },
      });
      return { kind: 'refused', refusal };
    }
    // The request is on the record before anything is deleted; the audit trail is what remains.
    await audit.record({
      action: AuditAction.PersonForgotten,
      outcome: 'success',
      principal: person,
      target: principalKey(person),
      correlationId,
    });
    await this.deps.sessions.stopAllOf(person, 'forgotten', correlationId);
    const credentialsArchived = await this.deps.connections.archiveAll(person, 'forgotten', correlationId);
    await this.deps.vaults.forget(person, correlationId);
    await this.deps.memories.erase(person, correlationId);
    const key = principalKey(person);
    await store.rateCounters.forget(key);
    await store.liveSlots.forget(personHolder(person));
    // Their spend: their own ledger and budget go; their agents' totals keep it, naming no one.
    await store.usage.forget(key);
    await store.settings.forgetBudget(key);
    const { retentionMs } = this.deps;
    // Their reminders for the retention sweep go too: they name the person and their sessions.
    for (const connection of await store.connections.list(key)) {
      if (!(await store.connections.purgeDisconnected(key, connection.connectorId))) continue;
      await store.retention.cancel(
        { kind: 'connection', principalKey: key, connectorId: connection.connectorId },
        Date.parse(connection.updatedAt) + retentionMs,
      );
    }
    let sessionsDeleted = 0;
    let sessionsPending = 0;
    for (const session of await store.sessions.allOf(key)) {
      const createdMs = Date.parse(session.createdAt);
      await store.retention.cancel(
        { kind: 'session', sessionId: session.sessionId },
        createdMs + retentionMs,
      );
      await store.retention.cancel(
        { kind: 'session_archive', sessionId: session.sessionId },
        createdMs + ARCHIVE_AFTER_MS,
      );
      if (await this.purgeSession(session, 'forgotten', correlationId)) sessionsDeleted += 1;
      else {
        sessionsPending += 1;
        await store.retention.schedule(
          { kind: 'session', sessionId: session.sessionId, forgotten: true },
          this.deps.clock.now() + FORGET_RETRY_MS,
        );
      }
    }
    return { kind: 'forgotten', credentialsArchived, sessionsDeleted, sessionsPending };
  }

  /**
   * The sweep: purges what has fallen due, day by day from the first day not yet swept clean.
   * Returns how many things were purged.
   */
  async purgeDue(correlationId: string): Promise<number> {
    const { retention } = this.deps.store;
    const now = this.deps.clock.now();
    const today = dayOf(now);
    const cursor = await retention.cursor();
    // The first sweep starts today: nothing was filed under a day before the store had a cursor.
    if (!cursor) await retention.setCursor(today);
    let day = cursor ?? today;
    let purged = 0;
    for (let swept = 0; day <= today && swept < DAYS_PER_SWEEP; swept += 1) {
      for (const item of await retention.due(day, now)) {
        try {
          if (await this.purgeItem(item, now, correlationId)) purged += 1;
        } catch (error) {
          // One item that cannot be purged now waits its turn again; it holds up nothing behind it.
          this.deps.logger.warn('purging failed; tried again later', { error: String(error), correlationId });
          await retention.schedule(item.target, now + PURGE_RETRY_MS);
        }
        await retention.done(item);
      }
      // A past day is whole: everything in it was due, and what was not purged is filed again later.
      if (day === today) break;
      day = dayOf(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS);
      await retention.setCursor(day);
    }
    return purged;
  }

  /** Purges the item's target if it is really due; otherwise files it again for when it will be. */
  private async purgeItem(item: PurgeItem, now: number, correlationId: string): Promise<boolean> {
    const { store, retentionMs } = this.deps;
    const target = item.target;
    if (target.kind === 'session_archive') {
      // Archiving is the sessions' rule; the sweep only brings it round and files it again.
      const outcome = await this.deps.sessions.archiveRested(target.sessionId, correlationId);
      if (outcome.kind === 'later') await store.retention.schedule(target, outcome.dueMs);
      return false;
    }
    if (target.kind === 'connection') {
      const connection = await store.connections.get(target.principalKey, target.connectorId);
      if (connection?.status !== 'disconnected') return false;
      const dueMs = Date.parse(connection.updatedAt) + retentionMs;
      if (dueMs > now) {
        await store.retention.schedule(target, dueMs);
        return false;
      }
      if (!(await store.connections.purgeDisconnected(target.principalKey, target.connectorId))) return false;
      await this.deps.audit.record({
        action: AuditAction.RecordsPurged,
        outcome: 'success',
        principal: connection.principal,
        target: target.connectorId,
        correlationId,
        details: { reason: 'retention', kind: 'connection' },
      });
      return true;
    }
    const session = await store.sessions.get(target.sessionId);
    if (!session) return false;
    const lastUsed = Date.parse(session.finishedAt ?? session.createdAt);
    const dueMs = target.forgotten ? now : lastUsed + retentionMs;
    if (
      dueMs <= now &&
      (await this.purgeSession(session, target.forgotten ? 'forgotten' : 'retention', correlationId))
    )
      return true;
    // Not yet due: filed for when it will be. Still live: tried again soon if forgotten; otherwise
    // it is in use, and its retention starts at the earliest when its turn ends (from now).
    const live = dueMs <= now;
    await store.retention.schedule(
      target,
      live ? now + (target.forgotten ? FORGET_RETRY_MS : retentionMs) : dueMs,
    );
    return false;
  }

  /**
   * Deletes a session at rest, at Anthropic and here, with its approvals and run request. False
   * when it is still live (here, or still running at Anthropic): nothing is deleted then.
   */
  private async purgeSession(
    session: SessionRecord,
    reason: 'forgotten' | 'retention',
    correlationId: string,
  ): Promise<boolean> {
    const { store, anthropic } = this.deps;
    if (session.status === 'running' || session.status === 'waiting') return false;
    try {
      await anthropic.beta.sessions.delete(session.sessionId);
    } catch (error) {
      const status = statusOf(error);
      // 404: already gone there. 400: still running there (Deputy has seen its turn end first).
      if (status === 400) return false;
      if (status !== 404) throw error;
    }
    await store.approvals.purgeSession(session.sessionId);
    await store.runIntents.purge(session.intentId);
    await store.sessions.purge(session);
    // A session that came to rest after its person was forgotten counted its cost under their name:
    // rewritten under none, as forget-me did with the rest.
    if (reason === 'forgotten') await store.usage.forget(session.principalKey);
    await this.deps.audit.record({
      action: AuditAction.RecordsPurged,
      outcome: 'success',
      principal: session.principal,
      target: session.sessionId,
      correlationId,
      details: { reason, kind: 'session' },
    });
    return true;
  }
}

/** The UTC day of a time, as purge partitions name it. */
function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
