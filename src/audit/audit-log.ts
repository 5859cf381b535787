import type { Clock } from '../clock.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AuditOutcome, AuditRecord, ChainedAuditRecord, Store } from '../store/index.js';
import { GENESIS_HASH, sealRecord, type UnsealedRecord } from './chain.js';

/** The audit actions the app records. Later features add theirs here, so the vocabulary stays in one place. */
export const AuditAction = {
  SignatureRefused: 'slack.signature_refused',
  VaultCreated: 'vault.created',
  VaultAdopted: 'vault.adopted',
  VaultOrphanArchived: 'vault.orphan_archived',
  VaultArchived: 'vault.archived',
  VaultMismatchRefused: 'vault.mismatch_refused',
  MemoryStoreCreated: 'memory_store.created',
  MemoryStoreAdopted: 'memory_store.adopted',
  MemoryStoreOrphanArchived: 'memory_store.orphan_archived',
  MemoryStoreArchived: 'memory_store.archived',
  MemoryStoreDeleted: 'memory_store.deleted',
  MemoryStoreMismatchRefused: 'memory_store.mismatch_refused',
  ConnectStarted: 'connect.started',
  ConnectIdentityMismatch: 'connect.identity_mismatch',
  ConnectFailed: 'connect.failed',
  ConnectionSaving: 'connection.saving',
  ConnectionConnected: 'connection.connected',
  ConnectionRefused: 'connection.refused',
  ConnectionDisconnected: 'connection.disconnected',
  ConnectionNeedsReconnect: 'connection.needs_reconnect',
  TokenRevoked: 'connection.token_revoked',
  CredentialArchived: 'credential.archived',
  WebhookRefused: 'webhook.refused',
  AdminRefused: 'admin.refused',
  AllowListChanged: 'allow_list.changed',
  AgentSaving: 'agent.saving',
  AgentSaved: 'agent.saved',
  AgentToolsHeldBack: 'agent.tools_held_back',
  SessionRequested: 'session.requested',
  SessionCreated: 'session.created',
  SessionSteerRefused: 'session.steer_refused',
  SessionFollowUp: 'session.follow_up',
  ToolCalled: 'tool.called',
  ApprovalRefused: 'approval.refused',
  ApprovalDecided: 'approval.decided',
  ApprovalClosed: 'approval.closed',
  SessionStopped: 'session.stopped',
  SessionShared: 'session.shared',
  SessionCeilingRaised: 'session.ceiling_raised',
  SessionArchived: 'session.archived',
  PersonDeparted: 'person.departed',
  PersonReturned: 'person.returned',
  WorkspaceStopped: 'workspace.stopped',
  WorkspaceResumed: 'workspace.resumed',
  PersonRevoked: 'person.revoked',
  PersonSuspended: 'person.suspended',
  PersonResumed: 'person.resumed',
  ReconnectForced: 'connector.reconnect_forced',
  PersonForgotten: 'person.forgotten',
  CatalogAccountConnected: 'catalog_account.connected',
  CatalogAccountDisconnected: 'catalog_account.disconnected',
  CatalogAccountNeedsReconnect: 'catalog_account.needs_reconnect',
  RecordsPurged: 'records.purged',
  StandingRefused: 'standing.refused',
  RateLimited: 'rate.limited',
  LimitsChanged: 'limits.changed',
  BudgetChanged: 'budget.changed',
  /** A run or follow-up refused because a spend budget was used up. */
  BudgetExceeded: 'budget.exceeded',
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

export interface AuditEvent {
  action: AuditAction;
  outcome: AuditOutcome;
  principal?: Principal;
  target?: string;
  correlationId: string;
  /** The Slack trigger_id of the request behind it, where there is one. */
  triggerId?: string;
  details?: AuditRecord['details'];
}

/**
 * The audit trail could not take a record, so what needed it was not done (security R46): the
 * caller refuses the action and says why. `cause` is the storage error.
 */
export class AuditUnavailable extends Error {
  constructor(cause: unknown) {
    super('the audit trail could not be written', { cause });
    this.name = 'AuditUnavailable';
  }
}

/** What a person is told when an action was refused for want of its audit record. */
export const AUDIT_UNAVAILABLE_TEXT =
  'Deputy could not write this to its audit trail, so it did not do it. Please try again in a few minutes.';

/** Whether `error`, or an error it wraps, is AuditUnavailable. */
export function isAuditUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth += 1)
    if (e instanceof AuditUnavailable) return true;
  return false;
}

/**
 * The admins' feeds on the Home tab (issue 18, item 5), each a sparse index of the trail: sessions
 * started, refusals of people, and lifecycle events (people, connections, agents, servers, the
 * workspace). Refusals with no person behind them (forged requests) stay out: a flood of those must
 * not crowd out what admins act on, nor concentrate writes on one index key.
 */
export const AuditFeed = { Sessions: 'sessions', Refusals: 'refusals', Lifecycle: 'lifecycle' } as const;
export type AuditFeed = (typeof AuditFeed)[keyof typeof AuditFeed];

const LIFECYCLE: ReadonlySet<string> = new Set<AuditAction>([
  AuditAction.PersonDeparted,
  AuditAction.PersonReturned,
  AuditAction.PersonRevoked,
  AuditAction.PersonSuspended,
  AuditAction.PersonResumed,
  AuditAction.PersonForgotten,
  AuditAction.WorkspaceStopped,
  AuditAction.WorkspaceResumed,
  AuditAction.ConnectionConnected,
  AuditAction.ConnectionDisconnected,
  AuditAction.ConnectionNeedsReconnect,
  AuditAction.ReconnectForced,
  AuditAction.AgentSaved,
  AuditAction.AgentToolsHeldBack,
  AuditAction.AllowListChanged,
  AuditAction.CatalogAccountConnected,
  AuditAction.CatalogAccountDisconnected,
  AuditAction.LimitsChanged,
  AuditAction.BudgetChanged,
]);

export function feedOf(
  record: Pick<AuditRecord, 'action' | 'outcome' | 'principalKey'>,
): AuditFeed | undefined {
  if (record.outcome === 'refused') return record.principalKey ? AuditFeed.Refusals : undefined;
  if (record.action === AuditAction.SessionCreated) return AuditFeed.Sessions;
  return LIFECYCLE.has(record.action) ? AuditFeed.Lifecycle : undefined;
}

/** How many chains one process appends to at once: its audit writes go in parallel up to this. */
const LANES = 4;
/** How many times a place found taken by another record is given up for the next one. */
const MAX_TAKEN_PLACES = 5;

/** One of this process's chains: where its next record goes, and the appends queued for it. */
interface Lane {
  chain: string;
  /** The last record written here (0 and the genesis hash before the first). */
  seq: number;
  hash: string;
  queued: number;
  tail: Promise<unknown>;
}

/**
 * Appends audit records (docs/architecture.md#audit, security R45, R47) to this process's hash
 * chains: each record goes to the next place of a chain no other process writes, with the hash of
 * the record before it. A failed write throws AuditUnavailable: callers fail closed.
 */
export class AuditLog {
  private readonly lanes: Lane[];
  /** The Slack trigger_id of each request being handled, by its correlation id (see `bindTrigger`). */
  private readonly triggers = new Map<string, string>();

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      ids: IdSource;
      logger: Logger;
      /** Handed each record once it is written (AuditWebhooks.offer: it returns at once). */
      forward?: (record: AuditRecord) => void;
    },
  ) {
    this.lanes = Array.from({ length: LANES }, () => this.newLane());
  }

  async record(event: AuditEvent): Promise<AuditRecord> {
    const triggerId = event.triggerId ?? this.triggers.get(event.correlationId);
    const body = {
      id: this.deps.ids.next('aud'),
      at: new Date(this.deps.clock.now()).toISOString(),
      action: event.action,
      outcome: event.outcome,
      ...(event.principal ? { principalKey: principalKey(event.principal) } : {}),
      ...(event.target ? { target: event.target } : {}),
      correlationId: event.correlationId,
      ...(triggerId ? { triggerId } : {}),
      ...(event.details ? { details: event.details } : {}),
    };
    // The least busy lane: appends to one chain go one after another (each needs the last hash).
    const lane = this.lanes.reduce((a, b) => (b.queued < a.queued ? b : a));
    lane.queued += 1;
    const appended = lane.tail.then(() =>
      this.append(lane, body).catch((error: unknown) => {
        throw new AuditUnavailable(error);
      }),
    );
    lane.tail = appended.catch(() => undefined);
    try {
      const record = await appended;
      try {
        this.deps.forward?.(record);
      } catch {
        // Sending the record on is best effort: the action it records goes on regardless.
      }
      this.deps.logger.info('audit', {
        action: record.action,
        outcome: record.outcome,
        principal: record.principalKey,
        target: record.target,
        correlationId: record.correlationId,
      });
      return record;
    } finally {
      lane.queued -= 1;
    }
  }

  /**
   * While a Slack request is handled, records with its correlation id carry its trigger_id without
   * every service passing it along. Returns the release, called once the request's work is done.
   */
  bindTrigger(correlationId: string, triggerId: string | undefined): () => void {
    if (!triggerId) return () => undefined;
    this.triggers.set(correlationId, triggerId);
    return () => this.triggers.delete(correlationId);
  }

  /**
   * Writes the record at the lane's next place. A place found taken is read: this record (an earlier
   * try's answer was lost) is done; another (a write whose failure was reported but that landed) is
   * the chain's head now, and the record goes after it.
   */
  private async append(
    lane: Lane,
    body: Omit<UnsealedRecord, 'chain' | 'seq' | 'prevHash'>,
  ): Promise<AuditRecord> {
    const { store } = this.deps;
    for (let taken = 0; taken <= MAX_TAKEN_PLACES; taken += 1) {
      const record = sealRecord({ ...body, chain: lane.chain, seq: lane.seq + 1, prevHash: lane.hash });
      if (!(await store.audit.append(record as ChainedAuditRecord, feedOf(record)))) {
        const there = await store.audit.at(lane.chain, record.seq as number);
        if (there?.id !== record.id) {
          if (there?.hash === undefined) throw new Error('audit chain place taken by an unreadable record');
          lane.seq += 1;
          lane.hash = there.hash;
          continue;
        }
      }
      lane.seq += 1;
      lane.hash = record.hash as string;
      return record;
    }
    throw new Error('audit chain: too many places taken');
  }

  private newLane(): Lane {
    return {
      chain: this.deps.ids.next('chain'),
      seq: 0,
      hash: GENESIS_HASH,
      queued: 0,
      tail: Promise.resolve(),
    };
  }
}
