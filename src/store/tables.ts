import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../clock.js';

/**
 * Two tables: `main` holds the app's state; `audit` is append-only, kept apart so production IAM can
 * allow PutItem but never UpdateItem or DeleteItem on it. Both use generic key names (pk, sk, and
 * gsi1..gsi4 for secondary lookups) so new item kinds need no schema change.
 */
export interface TableNames {
  main: string;
  audit: string;
}

export function tableNames(prefix: string): TableNames {
  return { main: `${prefix}main`, audit: `${prefix}audit` };
}

/** The expiry attribute (epoch seconds) that production's DynamoDB TTL watches; the app also checks it on read. */
export const EXPIRY_ATTRIBUTE = 'expiresAt';

function definition(name: string, indexes: string[]): CreateTableCommandInput {
  const keyAttributes = ['pk', 'sk', ...indexes.flatMap((i) => [`${i}pk`, `${i}sk`])];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index,
      KeySchema: [
        { AttributeName: `${index}pk`, KeyType: 'HASH' },
        { AttributeName: `${index}sk`, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

export function tableDefinitions(names: TableNames): CreateTableCommandInput[] {
  return [definition(names.main, ['gsi1']), definition(names.audit, ['gsi1', 'gsi2', 'gsi3', 'gsi4'])];
}

/**
 * Creates the tables when missing (development, tests, the sandbox). Production creates them in
 * infra/ and its task role may not create tables, so an existing table is only described.
 */
export async function ensureTables(client: DynamoDBClient, names: TableNames, clock: Clock): Promise<void> {
  for (const input of tableDefinitions(names)) {
    if (!(await tableExists(client, input.TableName ?? ''))) {
      try {
        await client.send(new CreateTableCommand(input));
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
      }
    } else await addMissingIndexes(client, input, clock);
    for (let attempt = 0; ; attempt += 1) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
      const indexesReady = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
      if (Table?.TableStatus === 'ACTIVE' && indexesReady) break;
      if (attempt > 200) throw new Error(`table ${input.TableName} did not become active`);
      await clock.sleep(50);
    }
  }
}

/**
 * A table made by an earlier version lacks the indexes added since (the audit table's gsi3 and gsi4): each is
 * added, one at a time as DynamoDB requires, and waited for.
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  input: CreateTableCommandInput,
  clock: Clock,
): Promise<void> {
  for (const index of input.GlobalSecondaryIndexes ?? []) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if ((Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === index.IndexName)) continue;
    const keyNames = new Set((index.KeySchema ?? []).map((k) => k.AttributeName));
    await client.send(
      new UpdateTableCommand({
        TableName: input.TableName,
        AttributeDefinitions: (input.AttributeDefinitions ?? []).filter((a) => keyNames.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [
          {
            Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection },
          },
        ],
      }),
    );
    for (let attempt = 0; ; attempt += 1) {
      const { Table: now } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
      const added = now?.GlobalSecondaryIndexes?.find((i) => i.IndexName === index.IndexName);
      if (added?.IndexStatus === 'ACTIVE') break;
      if (attempt > 200)
        throw new Error(`index ${index.IndexName} of ${input.TableName} did not become active`);
      await clock.sleep(50);
    }
  }
}

/** The tables of `names` that do not exist (what `npm run doctor` reports before a first start). */
export async function missingTables(client: DynamoDBClient, names: TableNames): Promise<string[]> {
  const missing: string[] = [];
  for (const name of [names.main, names.audit]) if (!(await tableExists(client, name))) missing.push(name);
  return missing;
}

async function tableExists(client: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
    throw error;
  }
}
