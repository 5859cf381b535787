import type { Clock } from '../clock.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AuditOutcome, AuditRecord, Store } from '../store/index.js';

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
  ConnectionConnected: 'connection.connected',
  ConnectionRefused: 'connection.refused',
  ConnectionDisconnected: 'connection.disconnected',
  ConnectionNeedsReconnect: 'connection.needs_reconnect',
  TokenRevoked: 'connection.token_revoked',
  CredentialArchived: 'credential.archived',
  WebhookRefused: 'webhook.refused',
  AdminRefused: 'admin.refused',
  AllowListChanged: 'allow_list.changed',
  AgentSaved: 'agent.saved',
  AgentToolsHeldBack: 'agent.tools_held_back',
  SessionRequested: 'session.requested',
  SessionCreated: 'session.created',
  SessionSteerRefused: 'session.steer_refused',
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
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

export interface AuditEvent {
  action: AuditAction;
  outcome: AuditOutcome;
  principal?: Principal;
  target?: string;
  correlationId: string;
  details?: AuditRecord['details'];
}

/**
 * Appends audit records (docs/architecture.md#identity-and-the-vault-invariant, security R45). A failed
 * write throws: callers fail closed.
 */
export class AuditLog {
  constructor(private readonly deps: { store: Store; clock: Clock; ids: IdSource; logger: Logger }) {}

  async record(event: AuditEvent): Promise<AuditRecord> {
    const record: AuditRecord = {
      id: this.deps.ids.next('aud'),
      at: new Date(this.deps.clock.now()).toISOString(),
      action: event.action,
      outcome: event.outcome,
      ...(event.principal ? { principalKey: principalKey(event.principal) } : {}),
      ...(event.target ? { target: event.target } : {}),
      correlationId: event.correlationId,
      ...(event.details ? { details: event.details } : {}),
    };
    await this.deps.store.audit.append(record);
    this.deps.logger.info('audit', {
      action: record.action,
      outcome: record.outcome,
      principal: record.principalKey,
      target: record.target,
      correlationId: record.correlationId,
    });
    return record;
  }
}
