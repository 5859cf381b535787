import { isIP } from 'node:net';
import { createGuardedFetch } from './guarded-fetch.js';
import { createRequestOpener, type OutboundRequest, readAll } from './outbound-request.js';
import {
  bareHostname,
  checkUrlShape,
  type ResolveHost,
  resolvePublicAddresses,
  systemResolveHost,
  UnsafeUrlError,
} from './url-guard.js';

export { type OutboundFailure, OutboundRequestError } from './outbound-request.js';
export { type ResolveHost, UnsafeUrlError, type UnsafeUrlReason } from './url-guard.js';

export interface NetworkPolicy {
  /** DEPUTY_ALLOW_PRIVATE_NETWORK: http and loopback/private hosts allowed (sandbox and tests only). */
  allowPrivateNetwork: boolean;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Response body cap; default 1 MiB for OAuth calls and 4 MiB for the MCP fetch (tool catalogs). */
  maxResponseBytes?: number;
  /** DNS resolution; default the system resolver. Tests inject a hostile DNS here. */
  resolveHost?: ResolveHost;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  body: unknown;
  text: string;
}

export interface OutboundHttp {
  /** Throws UnsafeUrlError unless `url` is https (or http with the allowance) and its host resolves only to public addresses. */
  assertSafeUrl(url: string): Promise<void>;
  /** Follows up to 5 redirects, each hop checked. */
  getJson(url: string, options?: { headers?: Record<string, string> }): Promise<HttpResult>;
  /** Never follows a redirect: a 3xx comes back as the result (a code or secret is not re-sent elsewhere). */
  postForm(
    url: string,
    form: Record<string, string>,
    options?: { headers?: Record<string, string> },
  ): Promise<HttpResult>;
  /** A JSON body with `method` (POST, or DELETE as GitHub's grant deletion takes); never follows a redirect. */
  sendJson(
    method: 'POST' | 'DELETE',
    url: string,
    json: unknown,
    options?: { headers?: Record<string, string> },
  ): Promise<HttpResult>;
  /** fetch-compatible and guarded the same way, for the MCP SDK transport (streams may stay open). */
  fetch: typeof fetch;
  /** fetch-compatible for the MCP SDK's OAuth helpers: the timeout bounds the whole exchange, 1 MiB at most. */
  oauthFetch: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_MCP_RESPONSE_BYTES = 4 * 1024 * 1024;

const BASE_HEADERS = { accept: 'application/json', 'user-agent': 'Deputy' };

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The only way Deputy reaches providers. Every request, and every redirect hop, is checked for
 * scheme and destination; the guard runs at connection time on the resolved address, so DNS
 * rebinding cannot slip past a pre-flight check. Non-2xx answers are results, not exceptions;
 * failures throw UnsafeUrlError or OutboundRequestError, whose messages carry no request content.
 */
export function createOutboundHttp(policy: NetworkPolicy): OutboundHttp {
  const allowPrivateNetwork = policy.allowPrivateNetwork;
  const resolveHost = policy.resolveHost ?? systemResolveHost;
  const timeoutMs = policy.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const open = createRequestOpener({ allowPrivateNetwork, timeoutMs, resolveHost });

  async function exchange(
    request: Omit<OutboundRequest, 'deadline' | 'maxResponseBytes'>,
    extraHeaders: Record<string, string> | undefined,
  ): Promise<HttpResult> {
    const opened = await open({
      ...request,
      headers: { ...BASE_HEADERS, ...request.headers, ...extraHeaders },
      deadline: 'whole',
      maxResponseBytes: policy.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    });
    const text = (await readAll(opened.body)).toString('utf8');
    return { status: opened.status, headers: { ...opened.headers }, body: parseJson(text), text };
  }

  return {
    async assertSafeUrl(url) {
      const parsed = checkUrlShape(url, allowPrivateNetwork);
      if (allowPrivateNetwork) return;
      const host = bareHostname(parsed);
      // IP literals were checked by checkUrlShape; names must resolve, and only to public addresses.
      if (isIP(host) !== 0) return;
      // A deadline on network I/O, in real time like got's own timeouts on the requests themselves.
      const lookup = resolvePublicAddresses(resolveHost, host);
      const timedOut = new Promise<never>((_, reject) => {
        AbortSignal.timeout(timeoutMs).addEventListener('abort', () =>
          reject(new UnsafeUrlError('unresolvable', host)),
        );
      });
      await Promise.race([lookup, timedOut]);
    },
    getJson: (url, options) =>
      exchange({ url, method: 'GET', headers: {}, followRedirects: true }, options?.headers),
    postForm: (url, form, options) =>
      exchange(
        {
          url,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
          followRedirects: false,
        },
        options?.headers,
      ),
    sendJson: (method, url, json, options) =>
      exchange(
        {
          url,
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(json),
          followRedirects: false,
        },
        options?.headers,
      ),
    fetch: createGuardedFetch(open, {
      maxResponseBytes: policy.maxResponseBytes ?? DEFAULT_MAX_MCP_RESPONSE_BYTES,
      deadline: 'streaming',
    }),
    oauthFetch: createGuardedFetch(open, {
      maxResponseBytes: policy.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      deadline: 'whole',
    }),
  };
}
