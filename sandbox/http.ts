import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type ListeningServer, listen } from '../src/http.js';

/** The emulators' HTTP helpers; the product's own (listen, readBody, …) are in src/http.ts. */

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Starts `handler` on 127.0.0.1 (port 0 picks a free one). Handler errors answer 500 with a
 * generic body: an emulator must never hang a client.
 */
export async function listenOnLoopback(handler: RequestHandler, port = 0): Promise<ListeningServer> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error' });
      else res.end();
      process.emitWarning(
        `sandbox handler failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  });
  return listen(server, port);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * An emulated service's HTML page: nothing loaded from elsewhere, no framing, no caching, no referrer.
 * (No form-action in the CSP: browsers apply it to the redirect that follows a form POST.)
 */
export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': contentSecurityPolicy,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(html);
}
