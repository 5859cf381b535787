import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../src/http.js';
import { stopChild, TABLE_PREFIX, type World } from './world.js';

/** A process the load run started and measures. */
export interface MeasuredProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Its resident set size now, in bytes. */
  rss(): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Deputy's production build (`dist/src/main.js`, as the image runs it) in a process of its own,
 * with live credentials pointing at the emulators and DynamoDB Local behind the counter.
 */
export async function startDeputy(world: World, dir: string, name: string): Promise<MeasuredProcess> {
  const port = await freePort();
  const { sandbox } = world;
  // Managed Agents' session webhooks go to the newest process, as a Console endpoint would.
  sandbox.managedAgents.deliverWebhooksTo({
    url: `http://127.0.0.1:${port}/webhooks/anthropic`,
    secret: sandbox.webhookSigningKey,
  });
  return startProcess(
    [...measuredFlags(), 'dist/src/main.js'],
    {
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      SLACK_SIGNING_SECRET: sandbox.signingSecret,
      SLACK_BOT_TOKEN: sandbox.slackConnection.botToken,
      SLACK_API_URL: sandbox.slack.apiUrl,
      ANTHROPIC_API_KEY: sandbox.anthropicOptions.apiKey,
      ANTHROPIC_BASE_URL: sandbox.anthropicOptions.baseURL,
      ANTHROPIC_ENVIRONMENT_ID: world.environmentId,
      ANTHROPIC_WEBHOOK_SIGNING_KEY: sandbox.webhookSigningKey,
      DYNAMODB_ENDPOINT: world.dynamoEndpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      DEPUTY_TABLE_PREFIX: TABLE_PREFIX,
      DEPUTY_CONNECTORS_FILE: world.connectorsFile,
      DEPUTY_ALLOW_PRIVATE_NETWORK: 'true',
      DEPUTY_ADMINS: 'U_ADMIN',
      DEPUTY_DATA_DIR: join(dir, name),
      LOG_LEVEL: 'error',
    },
    port,
    /LIVE mode/,
    join(dir, `${name}.log`),
  );
}

/**
 * Node flags for the measured process, to look inside it (`BENCH_NODE_FLAGS="--cpu-prof --trace-gc"`);
 * profiles land in the working directory, the GC trace in its log.
 */
function measuredFlags(): string[] {
  return (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

/** The floor: a bare Bolt app acking /agent with a constant, in its own process. */
export async function startBareApp(world: World, dir: string): Promise<MeasuredProcess> {
  const port = await freePort();
  const { sandbox } = world;
  return startProcess(
    ['bench/load/bare-app.mjs'],
    {
      PORT: String(port),
      SLACK_SIGNING_SECRET: sandbox.signingSecret,
      SLACK_BOT_TOKEN: sandbox.slackConnection.botToken,
      SLACK_API_URL: sandbox.slack.apiUrl,
    },
    port,
    /bare app listening/,
    join(dir, 'bare-app.log'),
  );
}

async function startProcess(
  args: string[],
  env: Record<string, string>,
  port: number,
  ready: RegExp,
  logFile: string,
): Promise<MeasuredProcess> {
  // Output goes to a file, not a pipe: a process writing to a pipe this busy driver reads late
  // would block on its own metric lines (writes to pipes are synchronous on Linux) and measure that.
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const tail = async () => (await readFile(logFile, 'utf8')).slice(-4000);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  for (;;) {
    if (exited !== undefined)
      throw new Error(`${args[0]} exited (${exited}) before it served:\n${await tail()}`);
    if (ready.test(await readFile(logFile, 'utf8'))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.on('exit', async (code, signal) => {
    if (code && code !== 0 && signal === null)
      process.stderr.write(`${args[0]} exited ${code}:\n${await tail()}\n`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    rss: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
      return kb * 1024;
    },
    stop: (signal) => stopChild(child, signal),
  };
}
