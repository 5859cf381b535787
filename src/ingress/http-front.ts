import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HTTPReceiver } from '@slack/bolt';
import type { AuditAction, AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { BodyTooLargeError, mediaType, readBody } from '../http.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import { checkEnvelope } from './payloads.js';
import { checkSlackSignature, type SignatureRefusal } from './signature.js';

export const SLACK_EVENTS_PATH = '/slack/events';

/** Slack's payloads are small; a larger body is refused before any work. */
const BODY_LIMIT_BYTES = 256 * 1024;

export interface HttpFrontOptions {
  receiver: HTTPReceiver;
  signingSecret: string;
  clock: Clock;
  logger: Logger;
  refusals: RefusalAudit;
}

/**
 * The app's HTTP entry. For `POST /slack/events` it reads the raw bytes, checks Slack's signature
 * with the injected clock (refusing skew beyond 300 s in either direction, which Bolt's own check
 * does not), checks the envelope, and only then hands the request to Bolt's HTTPReceiver, which
 * reuses the buffered body. Every other path goes to the receiver's custom routes.
 *
 * The receiver is built with signatureVerification off because this front is the verifier: it is the
 * only listener any server is given (see startDeputy), and the tests send unsigned requests to prove it.
 */
export function createHttpFront(options: HttpFrontOptions): RequestListener {
  const { receiver, logger } = options;
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === SLACK_EVENTS_PATH) {
      handleSlackRequest(options, req, res).catch((error: unknown) => {
        logger.error('slack request failed before dispatch', { error: String(error) });
        if (!res.headersSent) plain(res, 500, 'Internal error.');
      });
      return;
    }
    try {
      receiver.requestListener(req, res);
    } catch {
      // Bolt throws HTTPReceiverDeferredRequestError for paths it has no route for.
      plain(res, 404, 'Not found.');
    }
  };
}

async function handleSlackRequest(options: HttpFrontOptions, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'POST') return plain(res, 405, 'Use POST.', { allow: 'POST' });
  let rawBody: Buffer;
  try {
    rawBody = await readBody(req, BODY_LIMIT_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return plain(res, 413, 'Request too large.');
    throw error;
  }
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
    return plain(res, 401, 'Unauthorized.');
  }
  const contentType = mediaType(req);
  const problem = checkEnvelope(contentType, rawBody);
  if (problem) {
    options.logger.warn('refused malformed slack request', { status: problem.status, contentType });
    return plain(res, problem.status, problem.message);
  }
  // Bolt parses form bodies only when the content type is exactly this; Slack may add a charset.
  req.headers['content-type'] = contentType;
  Object.assign(req, { rawBody });
  options.receiver.requestListener(req, res);
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

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
  async refused(reason: SignatureRefusal | 'bad_signature'): Promise<void> {
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
