import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Query } from './query.js';

export interface RouteContext {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  /** The parsed JSON body, or undefined when the request had none (archive/validate POSTs). */
  readonly body: unknown;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** Returned by a handler that wrote the response itself (the SSE stream). */
export const RESPONDED = Symbol('responded');

/** A handler returns the JSON body of a 200 response, or RESPONDED, or throws an ApiError. */
export type RouteHandler = (ctx: RouteContext) => unknown;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

/** Method + path-pattern routing (`/v1/vaults/:vault_id`), nothing more. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { handler: RouteHandler; params: Record<string, string> } | undefined {
    const parts = path.split('/').filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const matched = route.segments.every((segment, i) => {
        const part = parts[i] ?? '';
        if (segment.startsWith(':')) {
          const value = safeDecode(part);
          if (value === undefined) return false;
          params[segment.slice(1)] = value;
          return true;
        }
        return segment === part;
      });
      if (matched) return { handler: route.handler, params };
    }
    return undefined;
  }
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
