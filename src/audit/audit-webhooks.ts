import { createHmac } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import type { Logger } from '../logger.js';
import {
  type HttpResult,
  type OutboundHttp,
  OutboundRequestError,
  UnsafeUrlError,
} from '../net/outbound-http.js';
import type { AuditRecord } from '../store/index.js';
import { AuditAction } from './audit-log.js';

/**
 * Audit records sent on to a SIEM as signed webhooks (issue 18): best effort, in the background,
 * after the record is in the audit table, which stays the record of truth. What waits here is lost
 * with the process; a receiver that must have every record compares with `npm run audit:export`.
 */

/** When the attempts after the first are made, after each failure: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000,
];
/** How many records may wait to be sent; past that the oldest waiting is dropped. */
export const DEFAULT_MAX_QUEUED = 10_000;
/** How many deliveries are under way at once. */
export const DEFAULT_CONCURRENCY = 4;
/** The longest a receiver's Retry-After is honoured (a longer one waits this long). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000;
/** Drops are reported at most once in this long. */
const DROP_REPORT_MS = 60_000;

const SECRET_PREFIX = 'whsec_';

/** Where records go and which: `actions` are exact actions or prefixes written `session.*`; none means all. */
export interface AuditWebhookTarget {
  url: string;
  /** `whsec_` and the key in base64, as Standard Webhooks writes it. */
  secret: string;
  actions?: readonly string[];
}

export interface AuditWebhookOptions {
  maxQueued?: number;
  concurrency?: number;
  /** The wait before each attempt after the first; when they are used up the record is given up. */
  retryDelaysMs?: readonly number[];
  maxRetryAfterMs?: number;
  /**
   * A number in [0, 1) for each wait (default Math.random): each backoff is spread ±20% around its
   * delay (security R49), so records queued in an outage are not all tried again in the same instant.
   */
  random?: () => number;
}

export interface AuditWebhookCounts {
  /** Answered with a 2xx. */
  delivered: number;
  /** Given up: refused (a 4xx other than 408 and 429), or still failing after the last retry. */
  failed: number;
  /** Dropped unsent because too many were waiting. */
  dropped: number;
  /** Waiting or under way. */
  pending: number;
  /** Under way now. */
  inFlight: number;
}

/** DEPUTY_AUDIT_WEBHOOK_ACTIONS names something that is no audit action and prefixes none. */
export class UnknownAuditActions extends Error {
  constructor(readonly names: readonly string[]) {
    const prefixes = [...new Set(knownActions().map((a) => `${a.split('.')[0]}.*`))].sort();
    super(
      `DEPUTY_AUDIT_WEBHOOK_ACTIONS: no audit action is ${names.map((n) => `"${n}"`).join(', ')} ` +
        `(name actions such as session.created, or prefixes: ${prefixes.join(', ')})`,
    );
    this.name = 'UnknownAuditActions';
  }
}

function knownActions(): string[] {
  return Object.values(AuditAction);
}

/**
 * Whether an action is to be sent, from exact actions and `prefix.*` patterns (none: every action).
 * Throws UnknownAuditActions for a name that is no action, or a prefix of none, so a typo cannot
 * quietly send nothing.
 */
export function auditActionFilter(patterns: readonly string[] = []): (action: string) => boolean {
  const known = knownActions();
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const unknown: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('.*')) {
      const prefix = pattern.slice(0, -1);
      if (known.some((a) => a.startsWith(prefix))) prefixes.push(prefix);
      else unknown.push(pattern);
    } else if (known.includes(pattern)) exact.add(pattern);
    else unknown.push(pattern);
  }
  if (unknown.length > 0) throw new UnknownAuditActions(unknown);
  if (patterns.length === 0) return () => true;
  return (action) => exact.has(action) || prefixes.some((p) => action.startsWith(p));
}

/** One record to send: its body is fixed when it is offered, so every attempt sends the same bytes. */
interface Delivery {
  readonly id: string;
  readonly action: string;
  readonly body: string;
  attempts: number;
  state: 'ready' | 'waiting' | 'sending' | 'done';
  timer?: Timer;
}

type Attempted =
  | { kind: 'delivered' }
  | { kind: 'retry'; status?: number; error?: string; retryAfterMs?: number }
  | { kind: 'refused'; status?: number; error?: string };

/**
 * Sends audit records to one webhook (docs/architecture.md#audit), signed as Standard Webhooks
 * specifies (https://www.standardwebhooks.com): `webhook-id` is the record's id, the same on every
 * attempt so a receiver drops repeats; `webhook-timestamp` is the attempt's time in seconds;
 * `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the key.
 *
 * `offer` only queues: it never waits on the network and never throws, so the action that wrote
 * the record is never held up by the SIEM. A 2xx is delivered; a thrown error, a 408, a 429 or a
 * 5xx is tried again after the next delay (or the receiver's longer Retry-After); any other answer
 * is given up at once.
 */
export class AuditWebhooks {
  /** Every delivery not yet delivered, given up or dropped, in the order offered. */
  private readonly pending = new Set<Delivery>();
  /** Deliveries to send next, first come first; dropped ones are skipped. */
  private ready: Delivery[] = [];
  private droppedInReady = 0;
  private readonly sends = new Set<Promise<void>>();
  private inFlight = 0;
  private delivered = 0;
  private failed = 0;
  private dropped = 0;
  private unreportedDrops = 0;
  private dropReport: Timer | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly matches: (action: string) => boolean;
  private readonly key: Buffer;
  private readonly host: string;
  private readonly maxQueued: number;
  private readonly concurrency: number;
  private readonly retryDelaysMs: readonly number[];
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(
    private readonly deps: {
      http: Pick<OutboundHttp, 'sendJson'>;
      clock: Clock;
      logger: Logger;
    } & AuditWebhookTarget,
    options: AuditWebhookOptions = {},
  ) {
    if (!deps.secret.startsWith(SECRET_PREFIX))
      throw new Error(`the webhook secret must start with ${SECRET_PREFIX}`);
    this.key = Buffer.from(deps.secret.slice(SECRET_PREFIX.length), 'base64');
    if (this.key.length === 0) throw new Error('the webhook secret holds no key');
    this.matches = auditActionFilter(deps.actions);
    this.host = new URL(deps.url).host;
    this.maxQueued = Math.max(1, options.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.random = options.random ?? Math.random;
    deps.logger.info('audit records are sent to a webhook', {
      host: this.host,
      actions: deps.actions?.length ? deps.actions.join(',') : 'all',
    });
  }

  get counts(): AuditWebhookCounts {
    return {
      delivered: this.delivered,
      failed: this.failed,
      dropped: this.dropped,
      pending: this.pending.size,
      inFlight: this.inFlight,
    };
  }

  /** Queues the record to be sent if its action is wanted. Returns at once; never throws. */
  offer(record: AuditRecord): void {
    try {
      if (this.stopped || !this.matches(record.action)) return;
      const delivery: Delivery = {
        id: record.id,
        action: record.action,
        body: JSON.stringify({ type: 'audit.record', timestamp: record.at, data: record }),
        attempts: 0,
        state: 'ready',
      };
      this.pending.add(delivery);
      this.ready.push(delivery);
      this.dropOverflow();
      this.pump();
    } catch (error) {
      this.deps.logger.error('an audit record could not be queued for the webhook', {
        id: record?.id,
        error: describe(error),
      });
    }
  }

  /** Sends nothing more and cancels the waits for retries; resolves once the sends under way end. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    for (const delivery of this.pending) delivery.timer?.cancel();
    this.dropReport?.cancel();
    this.reportDrops();
    this.stopping = Promise.all([...this.sends]).then(() => {
      if (this.pending.size > 0) {
        this.deps.logger.warn('audit webhook stopped with records unsent', { unsent: this.pending.size });
      }
    });
    return this.stopping;
  }

  /** Starts deliveries while fewer than `concurrency` are under way. */
  private pump(): void {
    while (!this.stopped && this.inFlight < this.concurrency) {
      const next = this.ready.shift();
      if (!next) return;
      if (next.state !== 'ready') {
        this.droppedInReady -= 1;
        continue;
      }
      this.start(next);
    }
  }

  private start(delivery: Delivery): void {
    delivery.state = 'sending';
    delivery.attempts += 1;
    this.inFlight += 1;
    const send: Promise<void> = this.attempt(delivery)
      .then((outcome) => {
        this.inFlight -= 1;
        this.settle(delivery, outcome);
      })
      .catch((error: unknown) => {
        this.deps.logger.error('an audit webhook delivery failed unexpectedly', {
          id: delivery.id,
          error: describe(error),
        });
      })
      .finally(() => {
        this.sends.delete(send);
        this.pump();
      });
    this.sends.add(send);
  }

  /** One attempt; never rejects. */
  private async attempt(delivery: Delivery): Promise<Attempted> {
    try {
      const timestamp = Math.floor(this.deps.clock.now() / 1000);
      const result = await this.deps.http.sendJson('POST', this.deps.url, JSON.parse(delivery.body), {
        headers: {
          'webhook-id': delivery.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': this.sign(delivery.id, timestamp, delivery.body),
        },
      });
      return outcomeOf(result);
    } catch (error) {
      // A URL the guard refuses for its shape is refused on every attempt; the rest may pass.
      const lasting =
        error instanceof UnsafeUrlError && (error.reason === 'not_https' || error.reason === 'invalid_url');
      return { kind: lasting ? 'refused' : 'retry', error: describe(error) };
    }
  }

  private settle(delivery: Delivery, outcome: Attempted): void {
    if (outcome.kind === 'delivered') {
      this.finish(delivery);
      this.delivered += 1;
      return;
    }
    const facts = {
      id: delivery.id,
      action: delivery.action,
      attempts: delivery.attempts,
      ...(outcome.status !== undefined ? { status: outcome.status } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    if (outcome.kind === 'refused') {
      this.finish(delivery);
      this.failed += 1;
      this.deps.logger.warn('the audit webhook refused a record; it is not sent again', facts);
      return;
    }
    const delay = this.retryDelaysMs[delivery.attempts - 1];
    if (delay === undefined) {
      this.finish(delivery);
      this.failed += 1;
      this.deps.logger.error('an audit record could not be sent to the webhook; given up', facts);
      return;
    }
    // Stopping: it stays unsent (counted as pending), with no timer left behind.
    delivery.state = 'waiting';
    if (this.stopped) return;
    const spread = Math.round(delay * (0.8 + 0.4 * this.random()));
    const wait = Math.max(spread, Math.min(outcome.retryAfterMs ?? 0, this.maxRetryAfterMs));
    this.deps.logger.debug('an audit webhook delivery is tried again later', { ...facts, waitMs: wait });
    delivery.timer = this.deps.clock.setTimeout(() => {
      delivery.timer = undefined;
      if (delivery.state !== 'waiting' || this.stopped) return;
      delivery.state = 'ready';
      this.ready.push(delivery);
      this.pump();
    }, wait);
  }

  /** Drops the oldest waiting deliveries (never one under way) while more than `maxQueued` wait. */
  private dropOverflow(): void {
    while (this.pending.size - this.inFlight > this.maxQueued) {
      let oldest: Delivery | undefined;
      for (const delivery of this.pending) {
        if (delivery.state !== 'sending') {
          oldest = delivery;
          break;
        }
      }
      if (!oldest) return;
      if (oldest.state === 'ready') this.droppedInReady += 1;
      oldest.timer?.cancel();
      this.finish(oldest);
      this.dropped += 1;
      this.unreportedDrops += 1;
      if (!this.dropReport) this.reportDrops();
    }
    // Dropped entries are skipped when reached; compacted once they are most of the queue.
    if (this.droppedInReady > 1024 && this.droppedInReady * 2 > this.ready.length) {
      this.ready = this.ready.filter((d) => d.state === 'ready');
      this.droppedInReady = 0;
    }
  }

  /** Logs the drops not yet reported, then reports again no sooner than DROP_REPORT_MS from now. */
  private reportDrops(): void {
    this.dropReport = undefined;
    if (this.unreportedDrops === 0) return;
    this.deps.logger.warn('too many audit records waiting for the webhook; the oldest were dropped', {
      dropped: this.unreportedDrops,
      droppedTotal: this.dropped,
      maxQueued: this.maxQueued,
    });
    this.unreportedDrops = 0;
    if (!this.stopped) this.dropReport = this.deps.clock.setTimeout(() => this.reportDrops(), DROP_REPORT_MS);
  }

  private finish(delivery: Delivery): void {
    delivery.state = 'done';
    delivery.timer = undefined;
    this.pending.delete(delivery);
  }

  private sign(id: string, timestamp: number, body: string): string {
    return `v1,${createHmac('sha256', this.key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
  }
}

function outcomeOf(result: HttpResult): Attempted {
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = retryAfterOf(result.headers['retry-after']);
    return { kind: 'retry', status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { kind: 'refused', status };
}

/** A Retry-After in seconds (the HTTP-date form is not honoured: the schedule applies). */
function retryAfterOf(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : undefined;
}

/** What a failure was, without its message unless the message is known to carry no secret. */
function describe(error: unknown): string {
  if (error instanceof OutboundRequestError || error instanceof UnsafeUrlError) return error.message;
  return error instanceof Error ? error.name : typeof error;
}
