import { createHmac } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { checkSlackSignature } from '../../src/ingress/signature.js';

const secret = 'test-signing-secret';
const now = 1_790_000_000_000;

function signed(body: string, ts: number, key = secret) {
  const sig = `v0=${createHmac('sha256', key).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { rawBody: Buffer.from(body), timestampHeader: String(ts), signatureHeader: sig };
}

describe('Slack signature check', () => {
  const nowSeconds = now / 1000;
  test('accepts a genuine request within 300 s either way', () => {
    expect(checkSlackSignature(signed('a=1', nowSeconds - 300), secret, now)).toBeUndefined();
    expect(checkSlackSignature(signed('a=1', nowSeconds + 300), secret, now)).toBeUndefined();
  });

  test('refuses timestamps 301 s old or 301 s ahead', () => {
    expect(checkSlackSignature(signed('a=1', nowSeconds - 301), secret, now)).toBe('timestamp_too_old');
    expect(checkSlackSignature(signed('a=1', nowSeconds + 301), secret, now)).toBe('timestamp_in_future');
  });

  test('verifies the exact raw bytes, including +, %2B, multibyte UTF-8 and escapes', () => {
    const body = 'text=a+b%2Bc&x=%E2%9C%93&p={"t":"\\u00e9 ✓"}';
    expect(checkSlackSignature(signed(body, nowSeconds), secret, now)).toBeUndefined();
    const reserialised = { ...signed(body, nowSeconds), rawBody: Buffer.from(decodeURIComponent(body)) };
    expect(checkSlackSignature(reserialised, secret, now)).toBe('bad_signature');
  });

  test('refuses a wrong secret, a flipped byte, another version and missing headers', () => {
    expect(checkSlackSignature(signed('a=1', nowSeconds, 'other'), secret, now)).toBe('bad_signature');
    const flipped = signed('a=1', nowSeconds);
    expect(checkSlackSignature({ ...flipped, rawBody: Buffer.from('a=2') }, secret, now)).toBe(
      'bad_signature',
    );
    const v1 = signed('a=1', nowSeconds);
    expect(
      checkSlackSignature({ ...v1, signatureHeader: v1.signatureHeader.replace('v0=', 'v1=') }, secret, now),
    ).toBe('unsupported_version');
    expect(checkSlackSignature({ ...v1, signatureHeader: undefined }, secret, now)).toBe('missing_headers');
    expect(checkSlackSignature({ ...v1, timestampHeader: '12e9' }, secret, now)).toBe('malformed_timestamp');
  });
});
