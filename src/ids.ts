import { randomBytes } from 'node:crypto';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Where new identifiers come from; injected so tests can predict or count them. */
export interface IdSource {
  /** A fresh id such as `aud_011CZkZDLs7fYzm1hXNPeRjv`: the prefix, then 24 random base58 characters. */
  next(prefix: string): string;
}

export function randomBase58(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 256 is not a multiple of 58; the slight bias is irrelevant for identifiers (not for secrets).
  for (const byte of bytes) out += BASE58[byte % 58];
  return out;
}

export const randomIds: IdSource = { next: (prefix) => `${prefix}_${randomBase58(24)}` };

/** An unguessable, URL-safe secret handle (256 bits by default). */
export function opaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
