import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack allows five minutes of clock difference; we refuse anything further, past or future. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureRefusal =
  | 'missing_headers'
  | 'malformed_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_in_future'
  | 'unsupported_version'
  | 'malformed_signature'
  | 'bad_signature';

export interface SignedRequest {
  rawBody: Buffer;
  timestampHeader: string | string[] | undefined;
  signatureHeader: string | string[] | undefined;
}

/**
 * Checks Slack's `v0` signature, `v0=` and 64 lower-case hex digits in one header: HMAC-SHA256 of `v0:{timestamp}:{raw body bytes}` under the signing
 * secret, compared in constant time, with the timestamp within 300 s of `nowMs` in either direction.
 * Returns the refusal reason, or undefined when the request is genuine.
 */
export function checkSlackSignature(
  request: SignedRequest,
  signingSecret: string,
  nowMs: number,
): SignatureRefusal | undefined {
  const { timestampHeader, signatureHeader } = request;
  if (typeof timestampHeader !== 'string' || typeof signatureHeader !== 'string') return 'missing_headers';
  if (!/^\d{1,12}$/.test(timestampHeader)) return 'malformed_timestamp';
  const skew = Math.floor(nowMs / 1000) - Number(timestampHeader);
  if (skew > SIGNATURE_TOLERANCE_SECONDS) return 'timestamp_too_old';
  if (skew < -SIGNATURE_TOLERANCE_SECONDS) return 'timestamp_in_future';
  if (!signatureHeader.startsWith('v0=')) return 'unsupported_version';
  // Exactly Slack's form, one header (Node joins a repeated one with ", "), lower-case hex: a MAC
  // hidden among other text is refused, not found.
  if (!/^v0=[0-9a-f]{64}$/.test(signatureHeader)) return 'malformed_signature';
  const expected = createHmac('sha256', signingSecret)
    .update(`v0:${timestampHeader}:`)
    .update(request.rawBody)
    .digest();
  const given = Buffer.from(signatureHeader.slice(3), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
  return undefined;
}
