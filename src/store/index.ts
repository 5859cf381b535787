import { AuditRecords } from './audit-records.js';
import type { DynamoHandle } from './dynamo.js';
import { ensureTables, type TableNames, tableNames } from './tables.js';
import { VaultMappings } from './vault-mappings.js';

/** Everything the app keeps, by kind. The only door to DynamoDB (DESIGN.md §1). */
export interface Store {
  readonly vaultMappings: VaultMappings;
  readonly audit: AuditRecords;
  readonly tables: TableNames;
}

export function createStore(dynamo: DynamoHandle, tables: TableNames): Store {
  return {
    vaultMappings: new VaultMappings(dynamo, tables.main),
    audit: new AuditRecords(dynamo, tables.audit),
    tables,
  };
}

/** Creates the tables if needed and returns the store over them. */
export async function openStore(dynamo: DynamoHandle, prefix: string): Promise<Store> {
  const tables = tableNames(prefix);
  await ensureTables(dynamo.client, tables);
  return createStore(dynamo, tables);
}

export type { AuditOutcome, AuditRecord } from './audit-records.js';
export { connectDynamo, type DynamoHandle, openDynamo, startEmbeddedDynamo } from './dynamo.js';
export type { VaultMapping } from './vault-mappings.js';
