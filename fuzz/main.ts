/**
 * `npm run fuzz [-- --requests N --seed S --burst B]`: the fuzz suite for long runs (100,000
 * requests by default) against the sandbox, with the process's memory measured around it, then a
 * burst of B (3,000) concurrent `/agent status`. Prints both reports and exits 1 when any request
 * broke a rule, RSS grew by more than 50 MB over the run, or a burst request got anything but an ack
 * or a "busy" refusal.
 */
import { parseArgs } from 'node:util';
import startDynamoDbLocal from '../test/support/global-setup.js';
import stopDynamoDbLocal from '../test/support/global-teardown.js';
import { startHarness } from '../test/support/harness.js';
import { openTestStorage } from '../test/support/storage.js';
import { burst } from './burst.js';
import { buildCorpus } from './corpus.js';
import { formatReport, LogWatch, runFuzz } from './run.js';

const RSS_GROWTH_LIMIT_MB = 50;

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '20261130' },
    burst: { type: 'string', default: '3000' },
  },
});
const burstSize = Number(values.burst);
const requests = Number(values.requests);
const seed = Number(values.seed);
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(seed) || !Number.isInteger(burstSize)) {
  process.stderr.write('usage: npm run fuzz -- [--requests N] [--seed S] [--burst B]\n');
  process.exit(2);
}

const logs = new LogWatch();
// The tables live in DynamoDB Local, another process, as DynamoDB lives outside Deputy's: RSS then
// measures Deputy and the emulators, not a storage engine's copy of every record written.
await startDynamoDbLocal();
const storage = await openTestStorage('DynamoDB Local');
const h = await startHarness({ log: logs.write, dynamo: storage.dynamo });
try {
  const corpus = await buildCorpus(h);
  logs.errors.length = 0;
  const rssBeforeMb = settledRssMb();
  const report = await runFuzz(h, corpus, logs, {
    requests,
    seed,
    onProgress: (done) => {
      if (done % 10_000 === 0) {
        const rssMb = settledRssMb();
        const heapMb = Math.round(process.memoryUsage().heapUsed / 1024 / 1024);
        process.stderr.write(`  ${done} requests: RSS ${rssMb} MB, heap ${heapMb} MB\n`);
      }
    },
  });
  const rssAfterMb = settledRssMb();
  process.stdout.write(`${formatReport(report, { rssBeforeMb, rssAfterMb })}\n`);
  const broken =
    report.serverErrors.length +
    report.unanswered.length +
    report.unhandledErrors.length +
    report.refusedChanges.length +
    report.leaks.length;
  const bursted = burstSize > 0 ? await burst(h, burstSize) : undefined;
  if (bursted) {
    const rssAfterBurstMb = settledRssMb();
    process.stdout.write(
      [
        '',
        `burst: ${bursted.requests} concurrent /agent status in ${(bursted.durationMs / 1000).toFixed(1)} s`,
        `  taken ${bursted.taken}, refused as busy ${bursted.refused}, anything else ${bursted.other}`,
        `  ack p50 ${bursted.ackP50Ms} ms, p99 ${bursted.ackP99Ms} ms`,
        `  RSS ${rssAfterMb} MB before, ${bursted.peakRssMb} MB at the peak, ${rssAfterBurstMb} MB after`,
        '',
      ].join('\n'),
    );
  }
  process.exitCode =
    broken > 0 || rssAfterMb - rssBeforeMb > RSS_GROWTH_LIMIT_MB || (bursted?.other ?? 0) > 0 ? 1 : 0;
} finally {
  await h.close();
  await storage.close();
  await stopDynamoDbLocal();
}

/** Resident memory after a full collection when the run may force one (`--expose-gc`). */
function settledRssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}
