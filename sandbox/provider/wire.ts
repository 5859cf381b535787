import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, mediaType, readBody } from '../../src/http.js';
import { sendHtml, sendJson } from '../http.js';

/** OAuth parameters, each present at most once and non-empty (RFC 6749 §3.1: empty means omitted). */
export type Params = ReadonlyMap<string, string>;

export type ParsedParams = { ok: true; params: Params } | { ok: false; duplicate: string };

export function uniqueParams(search: URLSearchParams): ParsedParams {
  const params = new Map<string, string>();
  for (const [name, value] of search) {
    if (value === '') continue;
    if (params.has(name)) return { ok: false, duplicate: name };
    params.set(name, value);
  }
  return { ok: true, params };
}

/** The body of a form POST, or undefined if the request is not `application/x-www-form-urlencoded`. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') return undefined;
  return new URLSearchParams((await readBody(req, 64_000)).toString('utf8'));
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** An RFC 6749 §5.2 error body; `invalid_client` answers 401. */
export function sendOAuthError(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error, error_description: description }, { ...NO_STORE, ...headers });
}

export function sendNoStoreJson(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, NO_STORE);
}

/** A self-contained page: no external resources, no framing, nothing cached. */
export function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}fieldset{border:1px solid #ccc;border-radius:6px;margin:1rem 0}
label{display:block;padding:.3rem 0}.actions{display:flex;gap:.5rem}
button{padding:.5rem 1.2rem;border-radius:6px;border:1px solid #888;font-size:1rem;cursor:pointer}
button[value=approve]{background:#2a6;color:#fff;border-color:#2a6}.error{color:#a22}
</style></head><body>${body}</body></html>`;
  sendHtml(res, status, html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store' });
  res.end();
}

/** RFC 7636 §4.1: 43–128 characters of the unreserved set (also the shape of an S256 challenge). */
const PKCE_STRING = /^[A-Za-z0-9\-._~]{43,128}$/;

export function isPkceString(value: string): boolean {
  return PKCE_STRING.test(value);
}

export function pkceMatches(method: 'S256' | 'plain', challenge: string, verifier: string): boolean {
  if (!isPkceString(verifier)) return false;
  const derived = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return safeEqual(derived, challenge);
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
