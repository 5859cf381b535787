import type { BetaManagedAgentsAgent } from '@anthropic-ai/sdk/resources/beta/agents/agents';
import type { BetaEnvironment } from '@anthropic-ai/sdk/resources/beta/environments/environments';
import type { BetaManagedAgentsMemoryStore } from '@anthropic-ai/sdk/resources/beta/memory-stores/memory-stores';
import type { BetaManagedAgentsSession } from '@anthropic-ai/sdk/resources/beta/sessions/sessions';
import type { BetaManagedAgentsCredential } from '@anthropic-ai/sdk/resources/beta/vaults/credentials';
import type { BetaManagedAgentsVault } from '@anthropic-ai/sdk/resources/beta/vaults/vaults';
import type { Clock } from '../../src/clock.js';
import type { IdSource } from '../../src/ids.js';
import { badRequest, notFound } from './errors.js';
import type { SessionEventLog } from './event-log.js';
import type { Sequenced } from './pagination.js';
import type { SessionRunner } from './runtime.js';
import type { SkillRecord } from './skills.js';

export interface VaultRecord extends Sequenced {
  value: BetaManagedAgentsVault;
}

/** The write-only parts of a credential. Kept apart from `value` so no view can leak them. */
export interface CredentialSecrets {
  access_token?: string;
  refresh_token?: string;
  client_secret?: string;
  token?: string;
  secret_value?: string;
}

export interface CredentialRecord extends Sequenced {
  /** The public object, exactly as returned by the API (no secrets). */
  value: BetaManagedAgentsCredential;
  secrets: CredentialSecrets;
}

export interface AgentRecord extends Sequenced {
  id: string;
  /** Every published version, oldest first; each a full Agent object. */
  versions: BetaManagedAgentsAgent[];
}

export interface EnvironmentRecord extends Sequenced {
  value: BetaEnvironment;
}

export interface MemoryStoreRecord extends Sequenced {
  value: BetaManagedAgentsMemoryStore;
}

export interface SessionRecord extends Sequenced {
  value: BetaManagedAgentsSession;
  log: SessionEventLog;
  runner: SessionRunner;
}

export type ValidationStatus = 'valid' | 'invalid' | 'unknown';

/** All emulator state, in memory, plus the lookups every handler needs. */
export class EmulatorState {
  private seq = 0;
  readonly vaults = new Map<string, VaultRecord>();
  readonly credentials = new Map<string, CredentialRecord>();
  readonly agents = new Map<string, AgentRecord>();
  readonly environments = new Map<string, EnvironmentRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  readonly memoryStores = new Map<string, MemoryStoreRecord>();
  readonly skills = new Map<string, SkillRecord>();
  /** Test overrides for `mcp_oauth_validate`, by credential id. */
  readonly forcedValidation = new Map<string, ValidationStatus>();
  /** Told of every event a session appends (webhooks go out from here). */
  onSessionEvent: ((sessionId: string, eventType: string) => void) | undefined;

  constructor(
    readonly clock: Clock,
    readonly ids: IdSource,
  ) {}

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** The current time as an RFC 3339 timestamp. */
  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  skill(id: string): SkillRecord {
    const record = this.skills.get(id);
    if (!record) throw notFound(`Skill ${id} not found`);
    return record;
  }

  memoryStore(id: string): MemoryStoreRecord {
    const record = this.memoryStores.get(id);
    if (!record) throw notFound(`Memory store ${id} not found`);
    return record;
  }

  vault(id: string): VaultRecord {
    const record = this.vaults.get(id);
    if (!record) throw notFound(`Vault ${id} not found`);
    return record;
  }

  /** A credential, only when it belongs to `vaultId`: fetched under another vault it does not exist. */
  credential(vaultId: string, id: string): CredentialRecord {
    this.vault(vaultId);
    const record = this.credentials.get(id);
    if (!record || record.value.vault_id !== vaultId) throw notFound(`Credential ${id} not found`);
    return record;
  }

  credentialsOf(vaultId: string): CredentialRecord[] {
    return [...this.credentials.values()].filter((c) => c.value.vault_id === vaultId);
  }

  agent(id: string): AgentRecord {
    const record = this.agents.get(id);
    if (!record) throw notFound(`Agent ${id} not found`);
    return record;
  }

  latestAgent(record: AgentRecord): BetaManagedAgentsAgent {
    const latest = record.versions[record.versions.length - 1];
    if (!latest) throw new Error(`agent ${record.id} has no versions`);
    return latest;
  }

  agentVersion(record: AgentRecord, version: number | undefined): BetaManagedAgentsAgent {
    if (version === undefined) return this.latestAgent(record);
    const found = record.versions.find((v) => v.version === version);
    if (!found) throw notFound(`Agent ${record.id} has no version ${version}`);
    return found;
  }

  environment(id: string): EnvironmentRecord {
    const record = this.environments.get(id);
    if (!record) throw notFound(`Environment ${id} not found`, 'environment_not_found');
    return record;
  }

  session(id: string): SessionRecord {
    const record = this.sessions.get(id);
    if (!record) throw notFound(`Session ${id} not found`);
    return record;
  }

  /** Sessions are read-only once archived or terminated. */
  writableSession(id: string): SessionRecord {
    const record = this.session(id);
    if (record.value.archived_at) throw badRequest(`Session ${id} is archived and read-only`);
    if (record.value.status === 'terminated') throw badRequest(`Session ${id} is terminated`);
    return record;
  }
}
