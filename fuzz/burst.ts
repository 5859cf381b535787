import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { slashCommandBody } from '../sandbox/slack/payloads.js';
import type { Harness } from '../test/support/harness.js';

export interface BurstReport {
  requests: number;
  /** Acknowledged and run. */
  taken: number;
  /** Refused at once with "busy, try again". */
  refused: number;
  /** Anything else (there should be nothing). */
  other: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** The highest RSS seen while the burst was answered and its work ran. */
  peakRssMb: number;
  durationMs: number;
}

/**
 * `count` signed `/agent status` commands at once, as a burst of people would send them, from a
 * client in another process (fuzz/burst-client.mjs): how many Deputy took and how many it refused as
 * busy, how fast it answered, and how high this process's memory went while the work ran.
 */
export async function burst(h: Harness, count: number): Promise<BurstReport> {
  const slack = h.sandbox.slack;
  const channel = slack.channel('general');
  const bodies = Array.from({ length: count }, () =>
    slashCommandBody(slack, {
      userId: 'U_ALICE',
      text: 'status',
      command: '/agent',
      channel,
      responseUrl: slack.newResponseUrl({ channelId: channel.id, userId: 'U_ALICE' }),
      triggerId: slack.newTriggerId({ userId: 'U_ALICE' }),
    }),
  );
  let peak = process.memoryUsage().rss;
  // A real-time sampler: the burst is measured, not waited on.
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  const client = spawn(process.execPath, [fileURLToPath(new URL('./burst-client.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  client.stdin.end(
    JSON.stringify({
      url: `${h.url}/slack/events`,
      signingSecret: h.sandbox.signingSecret,
      timestamp: Math.floor(h.clock.now() / 1000),
      bodies,
    }),
  );
  const output: Buffer[] = [];
  for await (const chunk of client.stdout) output.push(chunk as Buffer);
  const answers = JSON.parse(Buffer.concat(output).toString('utf8')) as Array<{
    status: number;
    busy: boolean;
    ms: number;
  }>;
  await h.settle();
  const durationMs = Math.round(performance.now() - started);
  clearInterval(sampler);
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0);
  const taken = answers.filter((a) => a.status === 200 && !a.busy).length;
  const refused = answers.filter((a) => a.status === 200 && a.busy).length;
  return {
    requests: count,
    taken,
    refused,
    other: count - taken - refused,
    ackP50Ms: at(0.5),
    ackP99Ms: at(0.99),
    peakRssMb: Math.round(peak / 1024 / 1024),
    durationMs,
  };
}
