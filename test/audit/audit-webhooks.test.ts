import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { listenOnLoopback } from '../../sandbox/http.js';
import { slashCommandBody } from '../../sandbox/slack/payloads.js';
import { AuditAction, AuditLog, AuditUnavailable } from '../../src/audit/audit-log.js';
import {
  type AuditWebhookOptions,
  AuditWebhooks,
  UnknownAuditActions,
} from '../../src/audit/audit-webhooks.js';
import { ManualClock } from '../../src/clock.js';
import { type ListeningServer, readBody } from '../../src/http.js';
import { randomBase58, randomIds } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { createOutboundHttp } from '../../src/net/outbound-http.js';
import { startEmbeddedDynamo } from '../../src/store/dynamo.js';
import { type AuditRecord, openStore, type Store } from '../../src/store/index.js';
import { type AuditOutage, withAuditOutage } from '../support/audit-outage.js';
import { startHarness } from '../support/harness.js';

/**
 * Issue 18, item 4: audit records sent on to a SIEM as Standard Webhooks, filtered by action,
 * retried with backoff, bounded, and never holding up the action that wrote the record.
 */

/** A canary key: it must never reach a log line, in any form. */
const KEY_TEXT = 'canary-audit-webhook-key-7f3e91!';
const KEY_BASE64 = Buffer.from(KEY_TEXT).toString('base64');
const SECRET = `whsec_${KEY_BASE64}`;

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hold';

interface Arrival {
  headers: IncomingHttpHeaders;
  body: string;
  answered: boolean;
  answer(status?: number): void;
}

interface Siem {
  url: string;
  arrivals: Arrival[];
  /** How the n-th request (from 1) is answered; `hold` leaves it unanswered until `answer`. */
  answer: (n: number) => Answer;
}

const servers: ListeningServer[] = [];
const started: AuditWebhooks[] = [];
let logLines: string[] = [];
let clock: ManualClock;

const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });

afterEach(async () => {
  // Held requests answered so that stopping is not left waiting on them.
  for (const server of servers) server.server.closeAllConnections();
  await Promise.all(started.splice(0).map((w) => w.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  // No test leaves the key in the logs (the logger was given no secrets to redact).
  expectNoSecret(logLines.join('\n'));
  logLines = [];
});

function expectNoSecret(text: string): void {
  expect(text).not.toContain(KEY_BASE64);
  expect(text).not.toContain(KEY_TEXT);
  expect(text).not.toContain('whsec_');
}

async function startSiem(answer: (n: number) => Answer = () => ({ status: 200 })): Promise<Siem> {
  const siem: Siem = { url: '', arrivals: [], answer };
  const server = await listenOnLoopback(async (req, res) => {
    const body = (await readBody(req)).toString('utf8');
    const arrival: Arrival = {
      headers: req.headers,
      body,
      answered: false,
      answer: (status = 200) => {
        if (arrival.answered) return;
        arrival.answered = true;
        if (!res.destroyed) res.writeHead(status).end();
      },
    };
    siem.arrivals.push(arrival);
    const answered = siem.answer(siem.arrivals.length);
    if (answered === 'hold') return;
    arrival.answered = true;
    res.writeHead(answered.status, answered.headers ?? {}).end(answered.body ?? '');
  });
  servers.push(server);
  siem.url = `${server.url}/siem/deputy`;
  return siem;
}

/** A URL nothing listens on: a SIEM that is down. */
async function downUrl(): Promise<string> {
  const server = await listenOnLoopback(() => undefined);
  await server.close();
  return `${server.url}/siem`;
}

function webhooksTo(
  url: string,
  options: AuditWebhookOptions & { actions?: string[]; timeoutMs?: number } = {},
): AuditWebhooks {
  const { actions, timeoutMs, ...rest } = options;
  const webhooks = new AuditWebhooks(
    {
      http: createOutboundHttp({ allowPrivateNetwork: true, ...(timeoutMs ? { timeoutMs } : {}) }),
      clock,
      logger,
      url,
      secret: SECRET,
      ...(actions ? { actions } : {}),
    },
    // No spread unless a test asks for one: the clock is moved by the schedule's own delays.
    { random: () => 0.5, ...rest },
  );
  started.push(webhooks);
  return webhooks;
}

let serial = 0;
function recordOf(action: string): AuditRecord {
  serial += 1;
  return {
    id: `aud_${serial}`,
    at: new Date(clock.now()).toISOString(),
    action,
    outcome: 'success',
    correlationId: `req_${serial}`,
    details: { note: 'plain' },
    chain: 'chain_test',
    seq: serial,
    prevHash: '0'.repeat(64),
    hash: `${serial}`.padStart(64, 'f'),
  };
}

/**
 * Lets the event loop turn (I/O included) until `condition` holds (the SIEM's arrivals, the counts),
 * failing after 5 s of real time. No fixed pause: each turn ends as soon as pending I/O is handled.
 */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A few turns of the event loop: enough for a promise that is going to settle now to settle. */
async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const idOf = (arrival: Arrival | undefined) => arrival?.headers['webhook-id'];
const actionOf = (arrival: Arrival) => (JSON.parse(arrival.body) as { data: AuditRecord }).data.action;
const logged = (level: string, message: RegExp) =>
  logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.level === level && message.test(String(entry.msg)));

beforeAll(() => {
  clock = new ManualClock(Date.now());
});

describe('audit records sent to a SIEM (issue 18)', () => {
  let store: Store;
  let outage: AuditOutage;
  let closeStore: () => Promise<void>;
  beforeAll(async () => {
    const embedded = await startEmbeddedDynamo();
    const failing = withAuditOutage(embedded);
    outage = failing.outage;
    store = await openStore(failing.dynamo, `t${randomBase58(8)}-`, clock);
    closeStore = () => embedded.close();
  }, 60_000);
  afterAll(() => closeStore());
  afterEach(() => {
    outage.down = false;
  });

  function auditLogTo(webhooks: AuditWebhooks): AuditLog {
    return new AuditLog({
      store,
      clock,
      ids: randomIds,
      logger,
      forward: (record) => webhooks.offer(record),
    });
  }

  const event = {
    action: AuditAction.SessionCreated,
    outcome: 'success' as const,
    principal: { teamId: 'T1', userId: 'U_ALICE' },
    target: 'sesn_1',
    correlationId: 'req_1',
  };

  test('a written record is delivered signed as Standard Webhooks specify: Webhook.verify accepts it, and the body is the whole chained record', async () => {
    const siem = await startSiem();
    const webhooks = webhooksTo(siem.url);
    const record = await auditLogTo(webhooks).record(event);
    await until('the delivery', () => webhooks.counts.delivered === 1);

    const [arrival] = siem.arrivals;
    if (!arrival) throw new Error('nothing arrived');
    const verified = new Webhook(SECRET).verify(arrival.body, arrival.headers as Record<string, string>);
    expect(verified).toEqual({ type: 'audit.record', timestamp: record.at, data: record });
    expect(record).toMatchObject({
      chain: expect.any(String),
      seq: 1,
      prevHash: expect.any(String),
      hash: expect.any(String),
    });
    expect(arrival.headers['webhook-id']).toBe(record.id);
    expect(arrival.headers['webhook-timestamp']).toBe(String(Math.floor(clock.now() / 1000)));
    expect(arrival.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(arrival.headers['content-type']).toBe('application/json');
    // Another key does not verify it: the signature is over this key, id, time and body.
    const otherKey = `whsec_${Buffer.from('another-key-another-key-another!').toString('base64')}`;
    expect(() =>
      new Webhook(otherKey).verify(arrival.body, arrival.headers as Record<string, string>),
    ).toThrow();
    expect(webhooks.counts).toEqual({ delivered: 1, failed: 0, dropped: 0, pending: 0, inFlight: 0 });
  });

  test('a SIEM that hangs never holds up AuditLog.record: it resolves while the SIEM has not answered, and attempts that timed out are made again', async () => {
    const siem = await startSiem(() => 'hold');
    const webhooks = webhooksTo(siem.url, { timeoutMs: 300 });
    const audit = auditLogTo(webhooks);
    const records = await Promise.all(
      Array.from({ length: 10 }, (_, i) => audit.record({ ...event, correlationId: `req_${i}` })),
    );
    expect(records).toHaveLength(10);
    await until('requests at the SIEM', () => siem.arrivals.length >= 1);
    expect(siem.arrivals.some((a) => a.answered)).toBe(false);

    // Each attempt times out (300 ms here) and waits 5 s of the clock for the next.
    await until('every record waiting to be tried again', () => clock.pendingTimers === 10);
    expect(webhooks.counts).toMatchObject({ delivered: 0, failed: 0, pending: 10 });
    const firstAttempts = siem.arrivals.map(idOf);
    siem.answer = () => ({ status: 200 });
    clock.advance(5_000);
    await until('every record delivered', () => webhooks.counts.delivered === 10);
    expect(new Set(siem.arrivals.slice(10).map(idOf))).toEqual(new Set(firstAttempts));
    expect(new Set(firstAttempts)).toEqual(new Set(records.map((r) => r.id)));
  });

  test('a SIEM that is down never holds up AuditLog.record; its record waits for the next attempt', async () => {
    const webhooks = webhooksTo(await downUrl());
    const record = await auditLogTo(webhooks).record(event);
    expect(record.id).toMatch(/^aud_/);
    await until('the failed attempt', () => webhooks.counts.inFlight === 0 && clock.pendingTimers > 0);
    expect(webhooks.counts).toMatchObject({ delivered: 0, failed: 0, pending: 1 });
    expect(logged('debug', /tried again later/)[0]).toMatchObject({
      id: record.id,
      error: expect.any(String),
    });
  });

  test('only a record that was written is sent, and a forward that throws does not fail the action', async () => {
    const siem = await startSiem();
    const webhooks = webhooksTo(siem.url);
    outage.down = true;
    await expect(auditLogTo(webhooks).record(event)).rejects.toBeInstanceOf(AuditUnavailable);
    expect(webhooks.counts.pending).toBe(0);
    outage.down = false;

    const throwing = new AuditLog({
      store,
      clock,
      ids: randomIds,
      logger,
      forward: () => {
        throw new Error('forward failed');
      },
    });
    await expect(throwing.record(event)).resolves.toMatchObject({ action: AuditAction.SessionCreated });
    expect(siem.arrivals).toHaveLength(0);
  });
});

describe('the audit webhook sender', () => {
  test('only the actions the filter names are sent: exact actions and prefix.* patterns', async () => {
    const siem = await startSiem();
    const webhooks = webhooksTo(siem.url, { actions: ['session.*', 'approval.decided'] });
    for (const action of [
      AuditAction.SessionCreated,
      AuditAction.ToolCalled,
      AuditAction.ApprovalDecided,
      AuditAction.ApprovalRefused,
      AuditAction.SessionStopped,
      AuditAction.ConnectionConnected,
    ]) {
      webhooks.offer(recordOf(action));
    }
    expect(webhooks.counts.pending).toBe(3);
    await until('three delivered', () => webhooks.counts.delivered === 3);
    expect(siem.arrivals.map(actionOf).sort()).toEqual([
      AuditAction.ApprovalDecided,
      AuditAction.SessionCreated,
      AuditAction.SessionStopped,
    ]);

    // With no filter, every action goes.
    const all = webhooksTo(siem.url);
    all.offer(recordOf(AuditAction.ToolCalled));
    await until('the unfiltered delivery', () => all.counts.delivered === 1);
  });

  test('a filter naming something that is no audit action is refused at start, naming it', () => {
    expect(() =>
      webhooksTo('https://siem.example.com/', { actions: ['session.created', 'sesion.*', 'tool.caled'] }),
    ).toThrow(UnknownAuditActions);
    expect(() => webhooksTo('https://siem.example.com/', { actions: ['tool.caled'] })).toThrow(
      /DEPUTY_AUDIT_WEBHOOK_ACTIONS: no audit action is "tool.caled".*session\.\*/,
    );
    // `memory.*` prefixes nothing (the actions are memory_store.*).
    expect(() => webhooksTo('https://siem.example.com/', { actions: ['memory.*'] })).toThrow(
      UnknownAuditActions,
    );
    expect(() =>
      webhooksTo('https://siem.example.com/', { actions: ['memory_store.*', 'slack.signature_refused'] }),
    ).not.toThrow();
  });

  test('a 503 is tried again after the backoff, with the same webhook-id and body and a new timestamp', async () => {
    const siem = await startSiem((n) => (n === 1 ? { status: 503 } : { status: 200 }));
    const webhooks = webhooksTo(siem.url);
    const record = recordOf(AuditAction.SessionCreated);
    webhooks.offer(record);
    await until('the 503', () => siem.arrivals.length === 1 && webhooks.counts.inFlight === 0);
    expect(webhooks.counts).toMatchObject({ delivered: 0, pending: 1 });

    clock.advance(4_999);
    expect(webhooks.counts.inFlight).toBe(0);
    clock.advance(1);
    expect(webhooks.counts.inFlight).toBe(1);
    await until('the second attempt', () => webhooks.counts.delivered === 1);

    const [first, second] = siem.arrivals;
    expect(idOf(first)).toBe(record.id);
    expect(idOf(second)).toBe(record.id);
    expect(second?.body).toBe(first?.body);
    expect(Number(second?.headers['webhook-timestamp']) - Number(first?.headers['webhook-timestamp'])).toBe(
      5,
    );
    expect(() =>
      new Webhook(SECRET).verify(second?.body ?? '', second?.headers as Record<string, string>),
    ).not.toThrow();
    expect(webhooks.counts).toEqual({ delivered: 1, failed: 0, dropped: 0, pending: 0, inFlight: 0 });
  });

  test('each backoff is spread ±20% around its delay (security R49), never below 0.8 nor above 1.2 of it', async () => {
    for (const [random, due] of [
      [0, 4_000],
      [0.999_999, 6_000],
    ] as const) {
      const siem = await startSiem((n) => (n === 1 ? { status: 503 } : { status: 200 }));
      const webhooks = webhooksTo(siem.url, { random: () => random });
      webhooks.offer(recordOf(AuditAction.SessionCreated));
      await until('the 503', () => siem.arrivals.length === 1 && webhooks.counts.inFlight === 0);
      clock.advance(due - 1);
      expect(webhooks.counts.inFlight).toBe(0);
      clock.advance(1);
      await until('the attempt after the spread backoff', () => webhooks.counts.delivered === 1);
    }
  });

  test('a 429 waits its Retry-After when that is longer than the backoff', async () => {
    const siem = await startSiem((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '40' } } : { status: 200 },
    );
    const webhooks = webhooksTo(siem.url);
    webhooks.offer(recordOf(AuditAction.ToolCalled));
    await until('the 429', () => siem.arrivals.length === 1 && webhooks.counts.inFlight === 0);
    clock.advance(39_999);
    expect(webhooks.counts.inFlight).toBe(0);
    clock.advance(1);
    await until('the attempt after the Retry-After', () => webhooks.counts.delivered === 1);
  });

  test('a 400 is given up at once: never sent again, and a warning names the status, not the body', async () => {
    const siem = await startSiem(() => ({ status: 400, body: 'canary-siem-answer' }));
    const webhooks = webhooksTo(siem.url);
    const record = recordOf(AuditAction.SessionCreated);
    webhooks.offer(record);
    await until('the refusal', () => webhooks.counts.failed === 1);
    clock.advance(3 * 3_600_000);
    await turns();
    expect(siem.arrivals).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    expect(webhooks.counts).toEqual({ delivered: 0, failed: 1, dropped: 0, pending: 0, inFlight: 0 });
    const [warning] = logged('warn', /refused a record/);
    expect(warning).toMatchObject({ id: record.id, action: record.action, status: 400 });
    const all = logLines.join('\n');
    expect(all).not.toContain('canary-siem-answer');
    expect(all).not.toContain(record.hash);
  });

  test('after the last retry the record is given up, with an error naming its id and action', async () => {
    const siem = await startSiem(() => ({ status: 500 }));
    const webhooks = webhooksTo(siem.url, { retryDelaysMs: [1_000, 2_000] });
    const record = recordOf(AuditAction.ApprovalDecided);
    webhooks.offer(record);
    await until('attempt 1', () => siem.arrivals.length === 1 && webhooks.counts.inFlight === 0);
    clock.advance(1_000);
    await until('attempt 2', () => siem.arrivals.length === 2 && webhooks.counts.inFlight === 0);
    clock.advance(2_000);
    await until('attempt 3, the last', () => webhooks.counts.failed === 1);
    expect(siem.arrivals.map(idOf)).toEqual([record.id, record.id, record.id]);
    expect(clock.pendingTimers).toBe(0);
    expect(logged('error', /given up/)).toEqual([
      expect.objectContaining({ id: record.id, action: record.action, attempts: 3, status: 500 }),
    ]);
  });

  test('at most maxQueued records wait: the oldest waiting is dropped, counted, and reported at most once a minute', async () => {
    const siem = await startSiem(() => 'hold');
    const webhooks = webhooksTo(siem.url, { maxQueued: 3, concurrency: 1 });
    const records = Array.from({ length: 6 }, () => recordOf(AuditAction.ToolCalled));
    for (const record of records) webhooks.offer(record);
    // The first is under way; of the five behind it the two oldest went.
    expect(webhooks.counts).toMatchObject({ dropped: 2, pending: 4, inFlight: 1 });
    const reports = () => logged('warn', /oldest were dropped/);
    expect(reports()).toEqual([expect.objectContaining({ dropped: 1, droppedTotal: 1, maxQueued: 3 })]);

    clock.advance(60_000);
    expect(reports()).toHaveLength(2);
    expect(reports()[1]).toMatchObject({ dropped: 1, droppedTotal: 2 });
    clock.advance(60_000);
    expect(reports()).toHaveLength(2);

    siem.answer = () => ({ status: 200 });
    await until('the held one', () => siem.arrivals.length === 1);
    siem.arrivals[0]?.answer(200);
    await until('the rest delivered', () => webhooks.counts.delivered === 4);
    expect(siem.arrivals.map(idOf)).toEqual(
      [records[0], records[3], records[4], records[5]].map((r) => r?.id),
    );
  });

  test('stop() waits for the delivery under way, then nothing more is sent', async () => {
    const siem = await startSiem(() => 'hold');
    const webhooks = webhooksTo(siem.url, { concurrency: 1 });
    webhooks.offer(recordOf(AuditAction.SessionCreated));
    webhooks.offer(recordOf(AuditAction.SessionStopped));
    await until('the first request', () => siem.arrivals.length === 1);

    let stopped = false;
    const stopping = webhooks.stop().then(() => {
      stopped = true;
    });
    await turns();
    expect(stopped).toBe(false);
    siem.arrivals[0]?.answer(200);
    await stopping;
    expect(webhooks.counts).toEqual({ delivered: 1, failed: 0, dropped: 0, pending: 1, inFlight: 0 });

    webhooks.offer(recordOf(AuditAction.SessionCreated));
    clock.advance(3_600_000);
    await turns();
    expect(siem.arrivals).toHaveLength(1);
    expect(logged('warn', /stopped with records unsent/)).toEqual([expect.objectContaining({ unsent: 1 })]);
  });

  test('stop() cancels the waits for retries, and a delivery that fails while stopping is not scheduled', async () => {
    const siem = await startSiem((n) => (n === 1 ? { status: 503 } : 'hold'));
    const webhooks = webhooksTo(siem.url);
    webhooks.offer(recordOf(AuditAction.SessionCreated));
    await until('the 503', () => siem.arrivals.length === 1 && webhooks.counts.inFlight === 0);
    webhooks.offer(recordOf(AuditAction.SessionStopped));
    await until('the second request', () => siem.arrivals.length === 2);
    expect(clock.pendingTimers).toBe(1);

    const stopping = webhooks.stop();
    expect(clock.pendingTimers).toBe(0);
    siem.arrivals[1]?.answer(503);
    await stopping;
    expect(clock.pendingTimers).toBe(0);
    expect(webhooks.counts).toMatchObject({ delivered: 0, pending: 2, inFlight: 0 });
  });

  test('the secret never reaches the logs: every path is logged, and no line holds the key or a signature', async () => {
    const siem = await startSiem((n) => [{ status: 200 }, { status: 400 }, { status: 503 }][n - 1] ?? 'hold');
    const webhooks = webhooksTo(siem.url, { retryDelaysMs: [], maxQueued: 1, concurrency: 1 });
    for (const action of [AuditAction.SessionCreated, AuditAction.ToolCalled, AuditAction.ApprovalDecided]) {
      webhooks.offer(recordOf(action));
      await until(`${action} settled`, () => webhooks.counts.inFlight === 0);
    }
    webhooks.offer(recordOf(AuditAction.SessionStopped));
    webhooks.offer(recordOf(AuditAction.SessionStopped));
    webhooks.offer(recordOf(AuditAction.SessionStopped));
    await until('the held request', () => siem.arrivals.length === 4);
    const stopping = webhooks.stop();
    siem.arrivals[3]?.answer(200);
    await stopping;

    expect(webhooks.counts).toEqual({ delivered: 2, failed: 2, dropped: 1, pending: 1, inFlight: 0 });
    const all = logLines.join('\n');
    for (const message of [
      /sent to a webhook/,
      /refused a record/,
      /given up/,
      /oldest were dropped/,
      /unsent/,
    ]) {
      expect(all).toMatch(message);
    }
    expectNoSecret(all);
    for (const arrival of siem.arrivals) {
      expect(all).not.toContain(String(arrival.headers['webhook-signature']).slice(3));
      expect(all).not.toContain(arrival.body);
    }
  });
});

describe('the runtime with DEPUTY_AUDIT_WEBHOOK_URL', () => {
  test('sends the records its actions write, filtered, and stops the sender when it closes', async () => {
    const siem = await startSiem();
    const h = await startHarness({
      environment: {
        DEPUTY_AUDIT_WEBHOOK_URL: siem.url,
        DEPUTY_AUDIT_WEBHOOK_SECRET: SECRET,
        DEPUTY_AUDIT_WEBHOOK_ACTIONS: 'slack.*',
      },
    });
    try {
      const slack = h.sandbox.slack;
      const response = await h.driver.send({
        body: slashCommandBody(slack, {
          userId: 'U_ALICE',
          text: 'status',
          command: '/agent',
          channel: slack.channel('general'),
          responseUrl: slack.newResponseUrl({ userId: 'U_ALICE' }),
          triggerId: slack.newTriggerId({ userId: 'U_ALICE' }),
        }),
        contentType: 'application/x-www-form-urlencoded',
        signingSecret: 'not-the-secret',
      });
      expect(response.status).toBe(401);
      await until('the refusal at the SIEM', () => h.services.auditWebhooks?.counts.delivered === 1);
      const [arrival] = siem.arrivals;
      const payload = new Webhook(SECRET).verify(
        arrival?.body ?? '',
        arrival?.headers as Record<string, string>,
      );
      expect(payload).toMatchObject({ data: { action: 'slack.signature_refused', outcome: 'refused' } });
      expect(siem.arrivals.map(actionOf)).toEqual(['slack.signature_refused']);
    } finally {
      await h.close();
    }
    expect(h.services.auditWebhooks?.counts.pending).toBe(0);
    // Stopped with the runtime: a record offered now is not taken.
    h.services.auditWebhooks?.offer(recordOf(AuditAction.SignatureRefused));
    expect(h.services.auditWebhooks?.counts.pending).toBe(0);
    expectNoSecret(h.logLines.join('\n'));
  }, 60_000);
});
