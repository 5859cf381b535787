import { createHmac } from 'node:crypto';

/**
 * Slack's request signature (v0): HMAC-SHA256 of `v0:<timestamp>:<raw body>` keyed by the signing
 * secret. Bolt rejects a timestamp more than five minutes old, so tests sign with real time.
 */
export function signSlackRequest(
  body: string,
  secret: string,
  timestampSeconds: number,
): { 'x-slack-request-timestamp': string; 'x-slack-signature': string } {
  const digest = createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestampSeconds), 'x-slack-signature': `v0=${digest}` };
}
