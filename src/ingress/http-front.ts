import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { App, HTTPReceiver } from '@slack/bolt';
import type { AuditAction, AuditLog } from '../audit/audit-log.js';
import type { Clock, Timer } from '../clock.js';
import type { BusyAnswers, DeliveryAnswer } from '../handlers/listener-failures.js';
import { mediaType, plainResponse, readBodyOrRefuse, requestTarget } from '../http.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AckGate } from '../work.js';
import type { DeliveryPlace, DeliveryQueue } from './delivery-queue.js';
import { checkEnvelope, type SlackDelivery } from './payloads.js';
import { checkSlackSignature, type SignatureRefusal } from './signature.js';

export const SLACK_EVENTS_PATH = '/slack/events';

/** Slack's payloads are small; a larger body is refused before any work. */
const BODY_LIMIT_BYTES = 256 * 1024;

/**
 * Slack gives up on an answer after 3 s (and retries an event); a delivery no listener has answered
 * by then is acknowledged empty a little before, so Slack never sees a timeout.
 */
export const ACK_DEADLINE_MS = 2500;

export interface HttpFrontOptions {
  /** Serves every path but the Slack one (health, connect pages, webhooks). */
  receiver: HTTPReceiver;
  /** Where a checked Slack delivery is dispatched. */
  app: Pick<App, 'processEvent'>;
  signingSecret: string;
  clock: Clock;
  logger: Logger;
  refusals: RefusalAudit;
  /** Bounds the work Slack deliveries make after their ack. */
  queue: DeliveryQueue;
  /**
   * Marks a delivery's wait for a running slot as waiting, not working (Work.resting): the slots may
   * be held by work that itself waits on time (Slack's limits), which only the clock moves on.
   */
  rest: <T>(waiting: Promise<T>) => Promise<T>;
  /** How a delivery refused as busy tells its person to try again. */
  busy: BusyAnswers;
  /**
   * Slack requests not yet answered, counted from their arrival (before their body is read), so
   * work that can wait does not start between the requests of a burst.
   */
  acks?: AckGate;
}

/**
 * The app's HTTP entry. For `POST /slack/events` it reads the raw bytes, checks Slack's signature
 * with the injected clock (refusing skew beyond 300 s in either direction, which Bolt's own check
 * does not), checks the envelope and every field a listener reads, takes a place in the delivery
 * queue, and only then dispatches the delivery to Bolt (`app.processEvent`, as a Bolt receiver does),
 * with an ack that answers Slack at once and then waits for a running slot. Every request is answered:
 * a 4xx for what is refused, a 200 for what no listener answered or answered too late.
 *
 * Every other path goes to the receiver's custom routes. This front is the only listener any server
 * is given (see startDeputy), so it is the only signature check; the tests send unsigned requests to
 * prove it.
 */
export function createHttpFront(options: HttpFrontOptions): RequestListener {
  const { receiver, logger } = options;
  return (req, res) => {
    const path = normalizedPath(req);
    if (path === undefined) return plainResponse(res, 400, 'Bad request.');
    if (path === SLACK_EVENTS_PATH) {
      handleSlackRequest(options, req, res).catch((error: unknown) => {
        logger.error('slack request failed before dispatch', { error: String(error) });
        if (!res.headersSent) plainResponse(res, 500, 'Internal error.');
      });
      return;
    }
    try {
      receiver.requestListener(req, res);
    } catch {
      // Bolt throws HTTPReceiverDeferredRequestError for paths it has no route for.
      plainResponse(res, 404, 'Not found.');
    }
  };
}

/**
 * The request's path as the router behind this front will read it (dot segments and `%2e` resolved,
 * as `new URL` does), so the Slack path is recognised however it is spelled; undefined for a target
 * `new URL` cannot read (`//?a=1`), which must not throw inside the listener.
 */
function normalizedPath(req: IncomingMessage): string | undefined {
  try {
    return new URL(requestTarget(req).path || '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

async function handleSlackRequest(options: HttpFrontOptions, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'POST') return plainResponse(res, 405, 'Use POST.', { allow: 'POST' });
  const answered = options.acks?.arrived();
  if (answered) {
    res.once('finish', answered);
    res.once('close', answered);
  }
  const rawBody = await readBodyOrRefuse(req, res, BODY_LIMIT_BYTES, options.logger);
  if (!rawBody) return;
  const refusal = checkSlackSignature(
    {
      rawBody,
      timestampHeader: req.headers['x-slack-request-timestamp'],
      signatureHeader: req.headers['x-slack-signature'],
    },
    options.signingSecret,
    options.clock.now(),
  );
  if (refusal) {
    await options.refusals.refused(refusal);
    return plainResponse(res, 401, 'Unauthorized.');
  }
  const contentType = mediaType(req);
  const checked = checkEnvelope(contentType, rawBody);
  if ('problem' in checked) {
    options.logger.warn('refused malformed slack request', { status: checked.problem.status, contentType });
    return plainResponse(res, checked.problem.status, checked.problem.message);
  }
  const { delivery } = checked;
  switch (delivery.kind) {
    case 'ssl_check':
      return plainResponse(res, 200, '');
    case 'url_verification':
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return res.end(JSON.stringify({ challenge: delivery.challenge }));
    case 'app_rate_limited':
      // Slack is dropping this workspace's events for a minute: nothing to act on, worth knowing.
      options.logger.warn('Slack is rate limiting event deliveries (app_rate_limited)', {
        teamId: delivery.teamId,
      });
      return plainResponse(res, 200, '');
    default:
      return dispatch(options, req, res, delivery);
  }
}

async function dispatch(
  options: HttpFrontOptions,
  req: IncomingMessage,
  res: ServerResponse,
  delivery: Extract<SlackDelivery, { body: unknown }>,
): Promise<void> {
  const place = options.queue.enter();
  if (!place) return refuseBusy(options, res, delivery);
  const answer = new SlackAnswer(res, options, place);
  try {
    await options.app.processEvent({
      body: delivery.body,
      ack: answer.ack,
      retryNum: retryNumber(req.headers['x-slack-retry-num']),
      retryReason: singleHeader(req.headers['x-slack-retry-reason']),
      customProperties: { delivery: answer },
    });
  } catch (error) {
    // Bolt threw before any listener ran: a shape the envelope check let through. A defect to fix.
    options.logger.error('slack request could not be dispatched', { error: String(error) });
    answer.refuse(400, 'Malformed request.');
  } finally {
    answer.end();
    place.leave();
  }
}

/** Answers one delivery exactly once: by its ack, by the deadline, or at the end of its listeners. */
class SlackAnswer implements DeliveryAnswer {
  private done = false;
  private readonly deadline: Timer;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: HttpFrontOptions,
    private readonly place: DeliveryPlace,
  ) {
    this.deadline = options.clock.setTimeout(() => {
      if (this.done) return;
      options.logger.warn('no listener answered in time; acknowledged empty', {
        deadlineMs: ACK_DEADLINE_MS,
      });
      this.send(undefined);
    }, ACK_DEADLINE_MS);
  }

  get answered(): boolean {
    return this.done;
  }

  /** Bolt's ack: answers Slack unless it already has its answer, then waits for a running slot. */
  readonly ack = async (response?: unknown): Promise<void> => {
    if (this.done) this.options.logger.debug('a listener acknowledged an answered delivery');
    else this.send(response);
    await this.options.rest(this.place.run());
  };

  refuse(status: number, text: string): void {
    if (this.done) return;
    this.done = true;
    this.deadline.cancel();
    plainResponse(this.res, status, text);
  }

  /** The listeners ended: a delivery none of them answered (no listener for it) gets its 200 now. */
  end(): void {
    this.deadline.cancel();
    if (this.done) return;
    this.options.logger.debug('no listener answered; acknowledged empty');
    this.send(undefined);
  }

  /** As Bolt's HTTP receiver answers: empty, text, or JSON. */
  private send(response: unknown): void {
    this.done = true;
    this.deadline.cancel();
    if (response === undefined || response === '' || response === null) {
      this.res.writeHead(200);
      this.res.end();
    } else if (typeof response === 'string') {
      this.res.writeHead(200);
      this.res.end(response);
    } else {
      this.res.writeHead(200, { 'content-type': 'application/json' });
      this.res.end(JSON.stringify(response));
    }
  }
}

/**
 * Every place in the queue is taken: the delivery is refused at once, in the way each kind can tell
 * its person to try again. An event gets a 429, so Slack delivers it again later.
 */
function refuseBusy(
  options: HttpFrontOptions,
  res: ServerResponse,
  delivery: Extract<SlackDelivery, { body: unknown }>,
): void {
  const refused = options.queue.refusedSoFar;
  if (refused % 100 === 1)
    options.logger.warn('busy: Slack deliveries refused', { kind: delivery.kind, refused });
  if (delivery.kind === 'event') {
    plainResponse(res, 429, 'Busy; deliver again later.', { 'retry-after': '60' });
    return;
  }
  const body = delivery.body as { command?: unknown; type?: unknown; view?: unknown; response_url?: unknown };
  const answer = options.busy.ack(body);
  if (answer === undefined && typeof body.response_url === 'string') options.busy.tell(body.response_url);
  res.writeHead(200, answer === undefined ? {} : { 'content-type': 'application/json' });
  res.end(answer === undefined ? '' : JSON.stringify(answer));
}

function retryNumber(header: string | string[] | undefined): number | undefined {
  const value = singleHeader(header);
  return value && /^\d{1,3}$/.test(value) ? Number(value) : undefined;
}

function singleHeader(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' ? header : undefined;
}

/** Why a webhook delivery was refused: forged, or signed but not what Anthropic sends. */
export type WebhookRefusal = 'bad_signature' | 'malformed_headers' | 'malformed_body';

/**
 * Audits refused signatures (Slack's or a webhook sender's) without letting a flood of forged
 * requests become a flood of writes: at most `perMinute` records a minute, and the next record after
 * a quiet spell counts what was left out. Every refusal is logged either way.
 */
export class RefusalAudit {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly deps: { audit: AuditLog; clock: Clock; ids: IdSource; logger: Logger },
    private readonly route: { action: AuditAction; target: string },
    private readonly perMinute = 30,
  ) {}

  /** Logs the refusal and, within the rate, audits it. Never throws: a refusal must still answer 401. */
  async refused(reason: SignatureRefusal | WebhookRefusal): Promise<void> {
    const now = this.deps.clock.now();
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.written = 0;
    }
    this.deps.logger.warn('refused request', { target: this.route.target, reason });
    if (this.written >= this.perMinute) {
      this.suppressed += 1;
      return;
    }
    this.written += 1;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    await this.deps.audit
      .record({
        action: this.route.action,
        outcome: 'refused',
        target: this.route.target,
        correlationId: this.deps.ids.next('req'),
        details: { reason, ...(suppressed > 0 ? { unrecordedSincePrevious: suppressed } : {}) },
      })
      .catch((error: unknown) => this.deps.logger.error('audit write failed', { error: String(error) }));
  }
}
