import { Agents } from './agents.js';
import { AuditRecords } from './audit-records.js';
import { ConnectFlows } from './connect-flows.js';
import { ConnectHandles } from './connect-handles.js';
import { Connections } from './connections.js';
import type { DynamoHandle } from './dynamo.js';
import { Approvals, Sessions } from './sessions.js';
import { AllowList, Leases, OAuthClients, WebhookReceipts } from './small-records.js';
import { ensureTables, type TableNames, tableNames } from './tables.js';
import { ToolCatalog } from './tool-catalog.js';
import { VaultMappings } from './vault-mappings.js';

/** Everything the app keeps, by kind. The only door to DynamoDB (DESIGN.md §1). */
export interface Store {
  readonly vaultMappings: VaultMappings;
  readonly audit: AuditRecords;
  readonly connectHandles: ConnectHandles;
  readonly connectFlows: ConnectFlows;
  readonly connections: Connections;
  readonly toolCatalog: ToolCatalog;
  readonly webhookReceipts: WebhookReceipts;
  readonly oauthClients: OAuthClients;
  readonly allowList: AllowList;
  readonly leases: Leases;
  readonly agents: Agents;
  readonly sessions: Sessions;
  readonly approvals: Approvals;
  readonly tables: TableNames;
}

export function createStore(dynamo: DynamoHandle, tables: TableNames): Store {
  return {
    vaultMappings: new VaultMappings(dynamo, tables.main),
    audit: new AuditRecords(dynamo, tables.audit),
    connectHandles: new ConnectHandles(dynamo, tables.main),
    connectFlows: new ConnectFlows(dynamo, tables.main),
    connections: new Connections(dynamo, tables.main),
    toolCatalog: new ToolCatalog(dynamo, tables.main),
    webhookReceipts: new WebhookReceipts(dynamo, tables.main),
    oauthClients: new OAuthClients(dynamo, tables.main),
    allowList: new AllowList(dynamo, tables.main),
    leases: new Leases(dynamo, tables.main),
    agents: new Agents(dynamo, tables.main),
    sessions: new Sessions(dynamo, tables.main),
    approvals: new Approvals(dynamo, tables.main),
    tables,
  };
}

/** Creates the tables if needed and returns the store over them. */
export async function openStore(dynamo: DynamoHandle, prefix: string): Promise<Store> {
  const tables = tableNames(prefix);
  await ensureTables(dynamo.client, tables);
  return createStore(dynamo, tables);
}

export type { StoredAgent } from './agents.js';
export type { AuditOutcome, AuditRecord } from './audit-records.js';
export type { ConnectFlow } from './connect-flows.js';
export type { ConnectHandle } from './connect-handles.js';
export type { Connection, ConnectionStatus } from './connections.js';
export { connectDynamo, type DynamoHandle, openDynamo, startEmbeddedDynamo } from './dynamo.js';
export type { Approval, ApprovalStatus, RunIntent, SessionRecord, SessionStatus } from './sessions.js';
export type { AllowedServer } from './small-records.js';
export type { CatalogTool, RecordedListing, SeenTool } from './tool-catalog.js';
export type { VaultMapping } from './vault-mappings.js';
