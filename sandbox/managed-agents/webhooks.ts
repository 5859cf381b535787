import { createHmac } from 'node:crypto';

export interface SignedWebhook {
  /** The raw body to POST (sign and send the same bytes). */
  body: string;
  headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
}

/**
 * Signs a webhook delivery the way Anthropic does (Standard Webhooks): HMAC-SHA256 over
 * `${id}.${timestamp}.${body}` keyed with the base64 secret after its `whsec_` prefix, sent as
 * `webhook-signature: v1,<base64>`. `client.beta.webhooks.unwrap()` verifies the result.
 */
export function signWebhook(
  payload: string | object,
  secret: string,
  options: { id: string; timestampSeconds: number },
): SignedWebhook {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const timestamp = String(Math.floor(options.timestampSeconds));
  const signature = createHmac('sha256', key).update(`${options.id}.${timestamp}.${body}`).digest('base64');
  return {
    body,
    headers: {
      'webhook-id': options.id,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${signature}`,
    },
  };
}

/** Stream status events and the webhook Anthropic sends for each (the SDK's `data.type` names). */
const WEBHOOK_FOR_STATUS: Readonly<Record<string, string>> = {
  'session.status_running': 'session.status_run_started',
  'session.status_idle': 'session.status_idled',
  'session.status_terminated': 'session.status_terminated',
};

/**
 * Delivers session webhooks as Anthropic does once an endpoint is registered in the Console: a
 * thin signed envelope per status change, POSTed in no particular order, retried on a non-2xx
 * answer or a failed connection (three tries, a second apart on the emulator's clock). Signed with
 * the wall clock's time, which is what a receiver checks the timestamp against. `drop(n)` loses
 * the next n deliveries outright, as a network might.
 */
export class WebhookSender {
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private dropping = 0;
  private closed = false;
  private readonly retries = new Set<{ cancel(): void }>();
  /** Every delivery answered 2xx, by envelope id. */
  readonly delivered: string[] = [];

  constructor(
    private readonly target: { url: string; secret: string },
    private readonly deps: {
      clock: { now(): number; setTimeout(run: () => unknown, ms: number): { cancel(): void } };
      envelope: (type: string, resourceId: string) => { id: string };
    },
  ) {}

  /** A session's status event happened: its webhook goes out, if the status has one. */
  statusChanged(sessionId: string, eventType: string): void {
    const type = WEBHOOK_FOR_STATUS[eventType];
    if (!type || this.closed) return;
    if (this.dropping > 0) {
      this.dropping -= 1;
      return;
    }
    void this.send(this.deps.envelope(type, sessionId), 1);
  }

  /** Sends nothing more (the emulator stops, or another endpoint replaced this one). */
  close(): void {
    this.closed = true;
    for (const retry of this.retries) retry.cancel();
    this.retries.clear();
  }

  /** Loses the next `count` deliveries. */
  drop(count: number): void {
    this.dropping += count;
  }

  /** Resolves once no delivery is in flight (one waiting to be tried again waits on the clock). */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async send(envelope: { id: string }, attempt: number): Promise<void> {
    this.pending += 1;
    const signed = signWebhook(envelope, this.target.secret, {
      id: envelope.id,
      timestampSeconds: Date.now() / 1000,
    });
    let ok = false;
    try {
      const response = await fetch(this.target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed.headers },
        body: signed.body,
      });
      await response.arrayBuffer();
      ok = response.ok;
    } catch {
      ok = false;
    }
    if (ok) this.delivered.push(envelope.id);
    else if (attempt < 3 && !this.closed) {
      const retry = this.deps.clock.setTimeout(() => {
        this.retries.delete(retry);
        return this.send(envelope, attempt + 1);
      }, 1000);
      this.retries.add(retry);
    }
    this.pending -= 1;
    if (this.pending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
