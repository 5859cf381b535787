import { z } from 'zod';
import { badRequest } from './errors.js';

/**
 * Request validation. Bodies are strict objects, as the real API rejects unknown fields
 * ("Extra inputs are not permitted"); that also makes an immutable field sent on update a 400.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  throw badRequest(describeIssue(result.error.issues[0]));
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'Invalid request body';
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const field = [path, issue.keys[0]].filter(Boolean).join('.');
    return `${field}: Extra inputs are not permitted`;
  }
  if (issue.code === 'invalid_key' && issue.issues[0]) {
    return `${path}: invalid key: ${issue.issues[0].message}`;
  }
  return path ? `${path}: ${issue.message}` : issue.message;
}

export const MAX_METADATA_PAIRS = 16;

const metadataKey = z.string().min(1).max(64);
const metadataValue = z.string().max(512);

/** Create-time metadata: ≤16 pairs, keys ≤64 chars, values ≤512 chars. */
export const metadataSchema = z
  .record(metadataKey, metadataValue)
  .refine((m) => Object.keys(m).length <= MAX_METADATA_PAIRS, {
    message: `Metadata can have at most ${MAX_METADATA_PAIRS} pairs`,
  });

/** Update-time metadata patch: a string upserts, `null` deletes, omitted keys are kept. */
export const metadataPatchSchema = z.record(metadataKey, metadataValue.nullable()).nullable();

export function applyMetadataPatch(
  current: Readonly<Record<string, string>>,
  patch: Record<string, string | null> | null | undefined,
): Record<string, string> {
  if (!patch) return { ...current };
  const next: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > MAX_METADATA_PAIRS) {
    throw badRequest(`metadata: Metadata can have at most ${MAX_METADATA_PAIRS} pairs`);
  }
  return next;
}

/** A URL the platform could connect to: absolute http(s). */
export const httpUrl = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    }, 'Input should be a valid http(s) URL');

/**
 * The form two MCP server URLs are compared in: parsed and re-serialised, so scheme and host
 * case and default ports do not matter while paths must match as written.
 */
export function normalizeUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

export const rfc3339 = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'Input should be a valid RFC 3339 timestamp');
