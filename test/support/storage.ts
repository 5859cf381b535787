import { systemClock } from '../../src/clock.js';
import { randomBase58 } from '../../src/ids.js';
import { connectDynamo, type DynamoHandle, startEmbeddedDynamo } from '../../src/store/dynamo.js';
import { openStore, type Store } from '../../src/store/index.js';

export type EngineName = 'dynalite' | 'DynamoDB Local';

/**
 * Both engines the storage suite must pass on (docs/architecture.md#storage): table names are unique per
 * call.
 */
export const ENGINES: EngineName[] = ['dynalite', 'DynamoDB Local'];

export interface TestStorage {
  dynamo: DynamoHandle;
  store: Store;
  close(): Promise<void>;
}

export async function openTestStorage(engine: EngineName = 'dynalite'): Promise<TestStorage> {
  const dynamo =
    engine === 'dynalite'
      ? await startEmbeddedDynamo()
      : connectDynamo({ endpoint: dynamoDbLocalEndpoint(), region: 'local', local: true });
  const store = await openStore(dynamo, `t${randomBase58(8)}-`, systemClock);
  return { dynamo, store, close: () => dynamo.close() };
}

function dynamoDbLocalEndpoint(): string {
  const endpoint = process.env.DEPUTY_TEST_DYNAMODB_LOCAL;
  if (!endpoint) throw new Error('DynamoDB Local was not started by the global setup');
  return endpoint;
}
