import type { IncomingHttpHeaders } from 'node:http';
import type { OpenedResponse, OutboundRequest } from './outbound-request.js';

/** Statuses whose Response must have a null body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** got decodes the body, and the stream is re-framed, so these no longer describe what the caller reads. */
const HOP_HEADERS = new Set([
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

async function bodyBytes(body: RequestInit['body']): Promise<string | Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  return Buffer.from(await new Response(body).arrayBuffer());
}

function responseHeaders(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_HEADERS.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
  }
  return out;
}

function webStream(opened: OpenedResponse): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await opened.body.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value));
    },
    cancel() {
      opened.cancel();
    },
  });
}

function toResponse(opened: OpenedResponse, method: string): Response {
  const init = { status: opened.status, headers: responseHeaders(opened.headers) };
  if (NULL_BODY_STATUSES.has(opened.status) || method === 'HEAD') {
    opened.cancel();
    return new Response(null, init);
  }
  return new Response(webStream(opened), init);
}

/**
 * A `fetch` over the guarded opener, for the MCP SDK's transport. Streams the body (SSE works),
 * honours `signal`, and follows redirects only for GET/HEAD with `redirect: 'follow'` (each hop
 * re-checked); `manual` returns the 3xx as is (the SDK follows same-origin hops itself, through
 * this fetch again); `error` rejects on a 3xx; any other method never follows a redirect.
 */
export function createGuardedFetch(
  open: (request: OutboundRequest) => Promise<OpenedResponse>,
  limits: { maxResponseBytes: number; deadline: OutboundRequest['deadline'] },
): typeof fetch {
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : input.toString();
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init?.headers ?? request?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = await bodyBytes(init?.body ?? (request?.body ? await request.arrayBuffer() : undefined));
    const redirect = init?.redirect ?? request?.redirect ?? 'follow';
    const signal = init?.signal ?? request?.signal ?? undefined;
    signal?.throwIfAborted();
    let opened: OpenedResponse;
    try {
      opened = await open({
        url,
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        followRedirects: redirect === 'follow' && (method === 'GET' || method === 'HEAD'),
        ...(signal ? { signal } : {}),
        deadline: limits.deadline,
        maxResponseBytes: limits.maxResponseBytes,
      });
    } catch (error) {
      // fetch semantics: an aborted request rejects with the signal's reason.
      signal?.throwIfAborted();
      throw error;
    }
    if (redirect === 'error' && REDIRECT_STATUSES.has(opened.status)) {
      opened.cancel();
      throw new TypeError(`fetch refused a redirect (${opened.status})`);
    }
    return toResponse(opened, method);
  };
  return guarded as typeof fetch;
}
