import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import type { Logger } from './logger.js';

/** A server listening on a port. */
export interface ListeningServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (or `host`) and wraps `server` as a ListeningServer. */
export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown}:${bound}`, server, close: () => closeServer(server) };
}

/** Closes a server without waiting for idle keep-alive sockets (undici keeps them open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class BodyTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new BodyTooLargeError(`body exceeds ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * The path and query of a request as sent. Read from the request target itself rather than through
 * `new URL`, which throws on targets such as `//?x` (a throw in a request listener ends the process).
 */
export function requestTarget(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const target = req.url ?? '/';
  const mark = target.indexOf('?');
  return mark < 0
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, mark), query: new URLSearchParams(target.slice(mark + 1)) };
}

/** A short plain-text answer that no cache keeps. */
export function plainResponse(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * The body of a request that a route will answer itself, or undefined once the request has been
 * answered for it: a 413 when it is over `limit`, a 400 when the sender broke it off or it could not be
 * read (the sender's doing, so a warning rather than an error).
 */
export async function readBodyOrRefuse(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  logger: Pick<Logger, 'warn'>,
): Promise<Buffer | undefined> {
  try {
    return await readBody(req, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) refuseTooLarge(req, res);
    else {
      logger.warn('request body could not be read', { error: String(error) });
      if (!res.headersSent && !res.destroyed)
        plainResponse(res, 400, 'Bad request.', { connection: 'close' });
    }
    return undefined;
  }
}

/**
 * A 413 for a body that was only partly read: the rest is read and dropped while the answer goes
 * out, and the connection closes after it, so a kept-alive connection is never left with unread
 * bytes where the next request should start (Node's server would wait on them for good).
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  plainResponse(res, 413, 'Request too large.', { connection: 'close' });
}

/** Text made safe to place in HTML, attributes included. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The media type of a request, lower-cased, without parameters such as charset. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for URLs that must be known before listening). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
