import type { Clock } from '../clock.js';
import { Agents } from './agents.js';
import { AllowList } from './allow-list.js';
import { Approvals } from './approvals.js';
import { AuditRecords } from './audit-records.js';
import { CatalogAccounts } from './catalog-accounts.js';
import { ConnectFlows } from './connect-flows.js';
import { ConnectHandles } from './connect-handles.js';
import { Connections } from './connections.js';
import type { DynamoHandle } from './dynamo.js';
import { Grants } from './grants.js';
import { keys } from './keys.js';
import { Leases } from './leases.js';
import { LiveSlots } from './live-slots.js';
import { OAuthClients } from './oauth-clients.js';
import { OwnerMappings } from './owner-mappings.js';
import { PendingRuns } from './pending-runs.js';
import { RateCounters } from './rate-counters.js';
import { RelayIndex } from './relay-index.js';
import { Retention } from './retention.js';
import { RevocationHandles } from './revocation-handles.js';
import { RunIntents } from './run-intents.js';
import { Sessions } from './sessions.js';
import { Settings } from './settings.js';
import { Skills } from './skills.js';
import { SlackDeliveries } from './slack-deliveries.js';
import { Standing } from './standing.js';
import { Table } from './table.js';
import { ensureTables, type TableNames, tableNames } from './tables.js';
import { ToolCatalog } from './tool-catalog.js';
import { UsageLedger } from './usage.js';
import { WebhookReceipts } from './webhook-receipts.js';

/** Everything the app keeps, by record kind. The only door to DynamoDB. */
export interface Store {
  /** Which vault is each principal's. */
  readonly vaultMappings: OwnerMappings;
  /** Which memory store is each principal's. */
  readonly memoryMappings: OwnerMappings;
  readonly audit: AuditRecords;
  readonly connectHandles: ConnectHandles;
  readonly connectFlows: ConnectFlows;
  readonly connections: Connections;
  readonly toolCatalog: ToolCatalog;
  readonly webhookReceipts: WebhookReceipts;
  readonly oauthClients: OAuthClients;
  readonly allowList: AllowList;
  readonly skills: Skills;
  readonly leases: Leases;
  readonly relayIndex: RelayIndex;
  readonly agents: Agents;
  readonly runIntents: RunIntents;
  /** Runs begun from a message shortcut whose modal is still open. */
  readonly pendingRuns: PendingRuns;
  readonly sessions: Sessions;
  readonly approvals: Approvals;
  readonly slackDeliveries: SlackDeliveries;
  readonly grants: Grants;
  readonly standing: Standing;
  readonly revocationHandles: RevocationHandles;
  readonly retention: Retention;
  readonly catalogAccounts: CatalogAccounts;
  /** Per-person counts of limited actions (rate limits). */
  readonly rateCounters: RateCounters;
  /** Who holds the live-session slots of each person and agent (concurrency limits). */
  readonly liveSlots: LiveSlots;
  /** What admins set in Slack: the rate limits and the budgets. */
  readonly settings: Settings;
  /** What each session spent on each day, by person, agent and month (budgets, usage). */
  readonly usage: UsageLedger;
  readonly tables: TableNames;
}

export function createStore(dynamo: DynamoHandle, tables: TableNames, clock: Pick<Clock, 'now'>): Store {
  const main = new Table(dynamo, tables.main);
  return {
    vaultMappings: new OwnerMappings(main, keys.vaultMapping),
    memoryMappings: new OwnerMappings(main, keys.memoryStoreMapping),
    audit: new AuditRecords(new Table(dynamo, tables.audit)),
    connectHandles: new ConnectHandles(main),
    connectFlows: new ConnectFlows(main),
    connections: new Connections(main),
    toolCatalog: new ToolCatalog(main, clock),
    webhookReceipts: new WebhookReceipts(main),
    oauthClients: new OAuthClients(main),
    allowList: new AllowList(main, clock),
    skills: new Skills(main),
    leases: new Leases(main),
    relayIndex: new RelayIndex(main),
    agents: new Agents(main, clock),
    runIntents: new RunIntents(main),
    pendingRuns: new PendingRuns(main),
    sessions: new Sessions(main),
    approvals: new Approvals(main),
    slackDeliveries: new SlackDeliveries(main),
    standing: new Standing(main),
    revocationHandles: new RevocationHandles(main),
    retention: new Retention(main),
    catalogAccounts: new CatalogAccounts(main, clock),
    grants: new Grants(main),
    rateCounters: new RateCounters(main),
    liveSlots: new LiveSlots(main),
    settings: new Settings(main),
    usage: new UsageLedger(main),
    tables,
  };
}

/** Creates the tables if needed and returns the store over them. */
export async function openStore(dynamo: DynamoHandle, prefix: string, clock: Clock): Promise<Store> {
  const tables = tableNames(prefix);
  await ensureTables(dynamo.client, tables, clock);
  return createStore(dynamo, tables, clock);
}

export type { AgentConfig, AgentServer, StoredAgent } from './agents.js';
export { agentConfigSchema, agentNameSchema, MODELS } from './agents.js';
export type { AllowedServer } from './allow-list.js';
export {
  type Approval,
  type ApprovalStatus,
  awaitsDelivery,
  type ClosedReason,
  isOpen,
} from './approvals.js';
export {
  type AuditOutcome,
  type AuditRecord,
  type AuditScan,
  auditRecordSchema,
  type ChainedAuditRecord,
} from './audit-records.js';
export type { CatalogAccount } from './catalog-accounts.js';
export type { ConnectFlow } from './connect-flows.js';
export type { ConnectHandle } from './connect-handles.js';
export type { Connection, ConnectionStatus } from './connections.js';
export { connectDynamo, type DynamoHandle, openDynamo, startEmbeddedDynamo } from './dynamo.js';
export type { OwnerMapping, OwnerMappings } from './owner-mappings.js';
export type { PendingRun } from './pending-runs.js';
export type { RateWindow } from './rate-counters.js';
export { DAY_MS, DEFAULT_RETENTION_DAYS, type PurgeItem, type PurgeTarget } from './retention.js';
export type { RevocationHandle } from './revocation-handles.js';
export {
  CONTEXT_MAX_MESSAGE_CHARS,
  CONTEXT_MAX_MESSAGES,
  type RunContext,
  type RunIntent,
  type StartLease,
} from './run-intents.js';
export type { SessionRecord, SessionStatus, SessionUsage } from './sessions.js';
export {
  type Budget,
  type BudgetDefaults,
  type BudgetSubject,
  budgetSchema,
  type LimitedAction,
  type LiveLimits,
  liveLimitsSchema,
  type RateLimits,
  rateLimitsSchema,
  type StoredBudget,
  type StoredBudgetDefaults,
  type StoredRateLimits,
} from './settings.js';
export type { SyncedSkill } from './skills.js';
export type { PersonStanding, StandingRefusal } from './standing.js';
export { StoredRecordInvalid } from './table.js';
export { missingTables, tableNames } from './tables.js';
export type { CatalogTool, RecordedListing, SeenTool } from './tool-catalog.js';
export type { UsageEntry } from './usage.js';
