/**
 * `npm run bench`: how long Slack waits for Deputy's ack of `/agent status`, measured through the
 * real HTTP surface (signed requests, signature check, payload checks, the delivery queue, Bolt's
 * dispatch, embedded storage), side by side in one run with a bare Bolt app that acks the same
 * command with a constant.
 *
 * Requests alternate between the two apps so drift on the machine hits both alike. They are sent
 * from a worker thread (load-client.mjs), and each Deputy request's follow-up (vault check, reply
 * through response_url) finishes before the next request, so the numbers are ack latency, not
 * queueing behind earlier work.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { App } from '@slack/bolt';
import { startSandboxRuntime } from '../sandbox/runtime.js';
import { slashCommandBody } from '../sandbox/slack/payloads.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

interface LoadRequest {
  url: string;
  body: string;
  signingSecret: string;
}
interface LoadResult {
  status: number;
  ms: number;
}

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 1000);
const WARMUP = 50;
const BUDGET = 1.5;
const USER = 'U_ALICE';

const dataDir = await mkdtemp(join(tmpdir(), 'deputy-bench-'));
// Deputy exactly as `npm start` runs it in the sandbox, with embedded storage on disk. Log lines are
// formatted and redacted as in production, then dropped instead of printed.
const logger = createLogger({ level: 'info', write: () => {} });
const runtime = await startSandboxRuntime(loadConfig({ PORT: '0', DEPUTY_DATA_DIR: dataDir }), logger);
const sandbox = runtime.sandbox;
const deputy = runtime.deputy;

const bare = new App({
  signingSecret: sandbox.signingSecret,
  token: sandbox.slackConnection.botToken,
  clientOptions: { slackApiUrl: sandbox.slack.apiUrl },
});
bare.command('/agent', async ({ ack }) => ack({ response_type: 'ephemeral', text: 'ok' }));
const bareServer = (await bare.start(0)) as { address(): AddressInfo };
const bareUrl = `http://127.0.0.1:${bareServer.address().port}`;

const slack = sandbox.slack;
const urls = { bare: `${bareUrl}/slack/events`, deputy: `${deputy.url}/slack/events` };
const client = new Worker(new URL('./load-client.mjs', import.meta.url));

function send(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve) => {
    client.once('message', resolve);
    client.postMessage(request);
  });
}

async function once(target: 'bare' | 'deputy'): Promise<number> {
  const responseUrl = slack.newResponseUrl({ userId: USER });
  const body = slashCommandBody(slack, {
    userId: USER,
    text: 'status',
    command: '/agent',
    channel: slack.channel('general'),
    responseUrl,
    triggerId: slack.newTriggerId({ userId: USER }),
  });
  const result = await send({ url: urls[target], body, signingSecret: sandbox.signingSecret });
  if (result.status !== 200) throw new Error(`${target} answered ${result.status}`);
  if (target === 'deputy') await slack.waitFor('response_url', (c) => c.body.url === responseUrl, 10_000);
  return result.ms;
}

const samples = { bare: [] as number[], deputy: [] as number[] };
for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
  const order: Array<'bare' | 'deputy'> = i % 2 === 0 ? ['bare', 'deputy'] : ['deputy', 'bare'];
  for (const target of order) {
    const ms = await once(target);
    if (i >= WARMUP) samples[target].push(ms);
  }
  if (i % 100 === 0) slack.reset();
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const stats = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
const b = stats(samples.bare);
const d = stats(samples.deputy);
const ms = (v: number) => `${v.toFixed(2)} ms`.padStart(10);

console.log(
  `\n/agent status ack latency: ${ITERATIONS} signed requests to each app, interleaved (${process.version})`,
);
console.log(`${''.padEnd(22)}${'p50'.padStart(10)}${'p99'.padStart(10)}`);
console.log(`${'bare Bolt app'.padEnd(22)}${ms(b.p50)}${ms(b.p99)}`);
console.log(`${'Deputy'.padEnd(22)}${ms(d.p50)}${ms(d.p99)}`);
console.log(
  `${'ratio Deputy / bare'.padEnd(22)}${`${(d.p50 / b.p50).toFixed(2)}x`.padStart(10)}${`${(d.p99 / b.p99).toFixed(2)}x`.padStart(10)}`,
);
const within = d.p99 <= BUDGET * b.p99;
console.log(`Deputy p99 within ${BUDGET}x the bare app's: ${within ? 'yes' : 'NO'}\n`);

await client.terminate();
await bare.stop();
await runtime.close();
await rm(dataDir, { recursive: true, force: true });
process.exitCode = within ? 0 : 1;
