import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for the secrets Deputy keeps, bound to a context (AAD) so a box opens only where it was
 * made. A connect flow's short-lived secrets (PKCE verifier, OIDC nonce) are sealed under a key that
 * lives only in the browser's flow cookie, so neither the store nor the cookie alone can finish a flow
 * (security R43). Revocation handles and catalog accounts are sealed under DEPUTY_SEALING_KEY.
 */
export function newSealKey(): Buffer {
  return randomBytes(32);
}

export function seal(key: Buffer, secrets: Record<string, string>, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The sealed secrets, or undefined when the key or context is wrong or the box was altered. */
export function unseal(key: Buffer, box: string, context: string): Record<string, string> | undefined {
  try {
    const raw = Buffer.from(box, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}
