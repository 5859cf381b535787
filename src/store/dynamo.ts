import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import type { StorageSettings } from '../config.js';
import { closeServer, listen } from '../http.js';

// SDK releases print a Node-version notice on every client; Node 20 is supported by the pinned release.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** An open connection to a DynamoDB engine: AWS, DynamoDB Local, or the embedded dynalite. */
export interface DynamoHandle {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  /** Where it talks to: an endpoint URL, or `aws` for the region's default endpoint. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Connects to an endpoint that speaks the DynamoDB protocol. */
export function connectDynamo(options: { endpoint?: string; region: string; local?: boolean }): DynamoHandle {
  const client = new DynamoDBClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.local ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    client,
    doc,
    endpoint: options.endpoint ?? 'aws',
    close: async () => client.destroy(),
  };
}

/**
 * Starts dynalite in this process on a loopback port: persisted under `path` (LevelDB), or in
 * memory when no path is given.
 */
export async function startEmbeddedDynamo(path?: string): Promise<DynamoHandle> {
  if (path) await mkdir(path, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(path ? { path } : {}),
  }) as Server;
  const listening = await listen(server);
  const handle = connectDynamo({ endpoint: listening.url, region: 'local', local: true });
  return {
    ...handle,
    close: async () => {
      await handle.close();
      await closeServer(server);
    },
  };
}

/** Opens the storage the configuration names (docs/architecture.md#storage). */
export async function openDynamo(settings: StorageSettings): Promise<DynamoHandle> {
  if (settings.kind === 'embedded') return startEmbeddedDynamo(join(settings.dataDir, 'dynamodb'));
  return connectDynamo({ endpoint: settings.endpoint, region: settings.region });
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Runs a conditional write: true when it was applied, false when its condition did not hold. */
export async function applied(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Epoch seconds, the unit of the DynamoDB TTL attribute. */
export const epochSeconds = (ms: number) => Math.floor(ms / 1000);
