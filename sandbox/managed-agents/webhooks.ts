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
