import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { type Request as GotRequest, type PlainResponse } from 'got';
import { checkUrlShape, createGuardedLookup, type ResolveHost, UnsafeUrlError } from './url-guard.js';

export type OutboundFailure = 'timeout' | 'network' | 'response_too_large' | 'aborted';

const FAILURE_TEXT: Record<OutboundFailure, string> = {
  timeout: 'timed out',
  network: 'could not be completed',
  response_too_large: 'answered with more data than allowed',
  aborted: 'was aborted',
};

/**
 * A request that did not produce a usable response. The message names the host and the kind of
 * failure only: got's own errors carry the request options (headers, body), so they never escape.
 */
export class OutboundRequestError extends Error {
  override readonly name = 'OutboundRequestError';
  constructor(
    readonly kind: OutboundFailure,
    host: string,
  ) {
    super(`The request to ${host} ${FAILURE_TEXT[kind]} (${kind})`);
  }
}

export interface OutboundRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  /** Follow 3xx (each hop re-checked); otherwise a 3xx is the response. */
  readonly followRedirects: boolean;
  readonly signal?: AbortSignal;
  /**
   * `whole`: the timeout bounds the entire exchange (OAuth calls). `streaming`: it bounds
   * connecting, the wait for the response head and every silence, so an SSE stream can stay open.
   */
  readonly deadline: 'whole' | 'streaming';
  readonly maxResponseBytes: number;
}

export interface OpenedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body, capped at maxResponseBytes; failures surface as OutboundRequestError. */
  readonly body: AsyncGenerator<Buffer, void, undefined>;
  /** Drops the response unread (a generator that never started cannot clean up after itself). */
  cancel(): void;
}

export interface RequestGuardPolicy {
  readonly allowPrivateNetwork: boolean;
  readonly timeoutMs: number;
  readonly resolveHost: ResolveHost;
}

const MAX_REDIRECTS = 5;

/**
 * The got hook run before the first request and before every redirect hop: scheme, userinfo and
 * IP-literal checks (host names are checked by the guarded lookup when the socket connects).
 */
export function urlGuardHook(
  allowPrivateNetwork: boolean,
): (options: { url?: string | URL | undefined }) => void {
  return (options) => {
    checkUrlShape(options.url ?? '', allowPrivateNetwork);
  };
}

function findUnsafeUrlError(error: unknown): UnsafeUrlError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof UnsafeUrlError) return e;
  }
  return undefined;
}

/** Maps any failure to UnsafeUrlError or OutboundRequestError, dropping got's error (and its options). */
export function toOutboundError(error: unknown, host: string): UnsafeUrlError | OutboundRequestError {
  if (error instanceof OutboundRequestError) return error;
  const unsafe = findUnsafeUrlError(error);
  if (unsafe) return unsafe;
  const name = error instanceof Error ? error.name : '';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return new OutboundRequestError('timeout', host);
  if (name === 'AbortError' || code === 'ERR_ABORTED') return new OutboundRequestError('aborted', host);
  return new OutboundRequestError('network', host);
}

async function* cappedBody(stream: GotRequest, max: number, host: string): AsyncGenerator<Buffer> {
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw new OutboundRequestError('response_too_large', host);
      yield chunk;
    }
  } catch (error) {
    throw toOutboundError(error, host);
  } finally {
    stream.destroy();
  }
}

/**
 * Opens requests through got with the SSRF guards on every hop: `beforeRequest` checks the URL
 * (scheme, IP-literal hosts, which Node connects to without a lookup) of the first request and of
 * each redirect, `beforeRedirect` refuses a bad target before anything is sent to it, and the
 * guarded `dnsLookup` checks the very addresses the socket connects to. No retries at all: a
 * repeated POST could replay a code or register twice. Agents are per instance so a socket
 * opened under one policy is never reused under another.
 */
export function createRequestOpener(
  policy: RequestGuardPolicy,
): (request: OutboundRequest) => Promise<OpenedResponse> {
  const { allowPrivateNetwork, timeoutMs } = policy;
  const dnsLookup = allowPrivateNetwork ? undefined : createGuardedLookup(policy.resolveHost);
  const agent = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const guardUrl = urlGuardHook(allowPrivateNetwork);
  const timeout = (deadline: OutboundRequest['deadline']) =>
    deadline === 'whole'
      ? { request: timeoutMs }
      : {
          lookup: timeoutMs,
          connect: timeoutMs,
          secureConnect: timeoutMs,
          send: timeoutMs,
          response: timeoutMs,
          socket: timeoutMs,
        };

  return async (request) => {
    const target = checkUrlShape(request.url, allowPrivateNetwork);
    const host = target.host;
    let stream: GotRequest;
    try {
      stream = got.stream(target, {
        method: request.method as 'GET',
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        followRedirect: request.followRedirects,
        maxRedirects: MAX_REDIRECTS,
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: timeout(request.deadline),
        ...(dnsLookup ? { dnsLookup } : {}),
        agent,
        ...(request.signal ? { signal: request.signal } : {}),
        hooks: { beforeRequest: [guardUrl], beforeRedirect: [guardUrl] },
      });
    } catch (error) {
      throw toOutboundError(error, host);
    }
    let response: PlainResponse;
    try {
      response = await new Promise<PlainResponse>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
    } catch (error) {
      stream.destroy();
      throw toOutboundError(error, host);
    }
    // A later failure reaches the body's reader through the stream's errored state; this listener
    // only keeps an unread, abandoned response from raising an unhandled 'error' event.
    stream.on('error', () => undefined);
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > request.maxResponseBytes) {
      stream.destroy();
      throw new OutboundRequestError('response_too_large', host);
    }
    return {
      status: response.statusCode,
      headers: response.headers,
      body: cappedBody(stream, request.maxResponseBytes, host),
      cancel: () => stream.destroy(),
    };
  };
}

/** Reads a whole (capped) body. */
export async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
