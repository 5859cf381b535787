import { Agent, request as httpRequest } from 'node:http';
import type { Harness } from '../test/support/harness.js';
import type { Seed } from './corpus.js';
import { type FuzzRequest, nextRequest } from './mutate.js';
import { Random } from './random.js';

/** Slack gives up on an answer after 3 s; the browser routes and webhooks get longer. */
const SLACK_ANSWER_MS = 3000;
const OTHER_ANSWER_MS = 10_000;

/** Something a request did that it must never do, with enough to send it again by hand. */
export interface Finding {
  index: number;
  label: string;
  status?: number;
  detail: string;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  /** Per route, how many answers of each status. */
  statuses: Record<FuzzRequest['route'], Record<string, number>>;
  serverErrors: Finding[];
  unanswered: Finding[];
  unhandledErrors: Finding[];
  refusedChanges: Finding[];
  leaks: Finding[];
  slowestMs: number;
  durationMs: number;
}

/**
 * What Deputy logs during a fuzz run, checked as it is written (a long run keeps no lines): error
 * lines and lines that name an unhandled error, and any canary.
 */
export class LogWatch {
  errors: string[] = [];
  leaks: string[] = [];
  canaries: readonly string[] = [];

  readonly write = (line: string): void => {
    if (line.includes('"level":"error"') || /unhandled/i.test(line)) this.errors.push(line.slice(0, 2000));
    for (const canary of this.canaries) if (line.includes(canary)) this.leaks.push(line.slice(0, 2000));
  };
}

/** Counts what changes state: storage writes (refusal audit records aside), Slack and Managed Agents calls. */
interface Changes {
  writes: number;
  slack: number;
  managedAgents: number;
}

/**
 * Sends `requests` mutated requests, one at a time, each followed by waiting until Deputy's work
 * settles, and checks every one: no 5xx, an answer in time, no error logged, no canary in the
 * answer or the logs, and nothing changed by a request that was refused (a 4xx).
 */
export async function runFuzz(
  h: Harness,
  corpus: { seeds: readonly Seed[]; canaries: readonly string[] },
  logs: LogWatch,
  options: { requests: number; seed: number; onProgress?: (done: number) => void },
): Promise<FuzzReport> {
  const random = new Random(options.seed);
  logs.canaries = corpus.canaries;
  const writes = countWrites(h);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const report: FuzzReport = {
    seed: options.seed,
    requests: 0,
    statuses: { slack: {}, webhook: {}, browser: {} },
    serverErrors: [],
    unanswered: [],
    unhandledErrors: [],
    refusedChanges: [],
    leaks: [],
    slowestMs: 0,
    durationMs: 0,
  };
  const started = performance.now();
  const changes = (): Changes => ({
    writes: writes.count,
    slack: h.sandbox.slack.calls.length,
    managedAgents: h.sandbox.managedAgents.requests.length,
  });
  const signers = {
    signingSecret: h.sandbox.signingSecret,
    webhookKey: h.sandbox.webhookSigningKey,
    nowSeconds: () => Math.floor(h.clock.now() / 1000),
  };
  try {
    for (let index = 0; index < options.requests; index += 1) {
      const request = nextRequest(random, corpus.seeds, signers);
      const finding = (detail: string, status?: number): Finding => ({
        index,
        label: request.label.slice(0, 300),
        ...(status === undefined ? {} : { status }),
        detail: detail.slice(0, 1000),
      });
      const errorsBefore = logs.errors.length;
      const leaksBefore = logs.leaks.length;
      const before = changes();
      const answer = await send(h.url, agent, request);
      report.requests += 1;
      report.slowestMs = Math.max(report.slowestMs, answer.ms);
      const statusKey = answer.status === undefined ? 'none' : String(answer.status);
      report.statuses[request.route][statusKey] = (report.statuses[request.route][statusKey] ?? 0) + 1;
      await h.settle().catch((error: unknown) => {
        logs.errors.push(`settle: ${String(error)}`);
      });
      if (answer.status === undefined) report.unanswered.push(finding(answer.error ?? 'no answer'));
      else if (answer.status >= 500) report.serverErrors.push(finding(answer.text, answer.status));
      for (const line of logs.errors.slice(errorsBefore))
        report.unhandledErrors.push(finding(line, answer.status));
      for (const line of logs.leaks.slice(leaksBefore))
        report.leaks.push(finding(`log: ${line}`, answer.status));
      for (const canary of corpus.canaries) {
        if (answer.text.includes(canary) || answer.headers.includes(canary))
          report.leaks.push(finding('answer holds a canary', answer.status));
      }
      if (answer.status !== undefined && answer.status >= 400) {
        const after = changes();
        if (
          after.writes !== before.writes ||
          after.slack !== before.slack ||
          after.managedAgents !== before.managedAgents
        ) {
          report.refusedChanges.push(
            finding(`changed ${JSON.stringify({ before, after, writes: writes.recent() })}`, answer.status),
          );
        }
      }
      // Emulator logs grow with every call; the run keeps only the counts above.
      if (index % 500 === 499) {
        h.sandbox.slack.reset();
        h.sandbox.managedAgents.clearRequests();
      }
      options.onProgress?.(index + 1);
    }
  } finally {
    agent.destroy();
    writes.stop();
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** Storage writes the store's client made (applied ones); a refusal's own audit record is not a change. */
function countWrites(h: Harness): { count: number; recent(): string[]; stop(): void } {
  const state = { count: 0, last: [] as string[] };
  const name = 'fuzzWriteCounter';
  h.dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? '');
      // A conditional write whose condition failed throws here and changed nothing.
      const result = await next(args);
      if (/Put|Update|Delete|TransactWrite|BatchWrite/.test(command)) {
        const input = args.input as { TableName?: string; Item?: Record<string, unknown> };
        const action = input.Item?.action;
        const actionName = typeof action === 'string' ? action : (action as { S?: string } | undefined)?.S;
        if (!(input.TableName === h.store.tables.audit && actionName && /refused$/.test(actionName))) {
          state.count += 1;
          state.last = [...state.last.slice(-4), `${command} ${input.TableName ?? ''} ${actionName ?? ''}`];
        }
      }
      return result;
    },
    { step: 'initialize', name },
  );
  return {
    get count() {
      return state.count;
    },
    recent: () => state.last,
    stop: () => h.dynamo.client.middlewareStack.remove(name),
  };
}

interface Answer {
  status?: number;
  text: string;
  headers: string;
  ms: number;
  error?: string;
}

function send(baseUrl: string, agent: Agent, request: FuzzRequest): Promise<Answer> {
  const url = new URL(baseUrl);
  const limit = request.route === 'slack' ? SLACK_ANSWER_MS : OTHER_ANSWER_MS;
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: request.path,
        method: request.method,
        agent,
        timeout: limit,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8').slice(0, 20_000),
            headers: JSON.stringify(res.headers),
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${limit} ms`)));
    req.on('error', (error) =>
      resolve({ text: '', headers: '', ms: performance.now() - started, error: String(error) }),
    );
    for (const [header, value] of Object.entries(request.headers)) req.setHeader(header, value);
    req.end(request.body);
  });
}

/** The report as a short table, for people. */
export function formatReport(
  report: FuzzReport,
  memory?: { rssBeforeMb: number; rssAfterMb: number },
): string {
  const lines = [
    `fuzz: seed ${report.seed}, ${report.requests} requests in ${(report.durationMs / 1000).toFixed(1)} s (slowest answer ${Math.round(report.slowestMs)} ms)`,
    '',
    '| route | answers by status |',
    '|---|---|',
    ...Object.entries(report.statuses).map(
      ([route, statuses]) =>
        `| ${route} | ${Object.entries(statuses)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([status, count]) => `${status}: ${count}`)
          .join(', ')} |`,
    ),
    '',
    `5xx: ${report.serverErrors.length}`,
    `unanswered: ${report.unanswered.length}`,
    `errors logged: ${report.unhandledErrors.length}`,
    `state changed by a refused request: ${report.refusedChanges.length}`,
    `canaries leaked: ${report.leaks.length}`,
  ];
  if (memory)
    lines.push(
      `RSS: ${memory.rssBeforeMb} MB before, ${memory.rssAfterMb} MB after (${memory.rssAfterMb - memory.rssBeforeMb >= 0 ? '+' : ''}${memory.rssAfterMb - memory.rssBeforeMb} MB)`,
    );
  for (const [name, findings] of [
    ['5xx', report.serverErrors],
    ['unanswered', report.unanswered],
    ['errors logged', report.unhandledErrors],
    ['refused but changed', report.refusedChanges],
    ['leaks', report.leaks],
  ] as const) {
    for (const f of findings.slice(0, 5))
      lines.push(`  ${name} #${f.index} [${f.status ?? '-'}] ${f.label}: ${f.detail}`);
  }
  return lines.join('\n');
}
