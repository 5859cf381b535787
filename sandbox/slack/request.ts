import type { IncomingMessage } from 'node:http';
import { isRecord } from './workspace.js';

/** Arguments WebClient JSON-stringifies into form fields (object values), parsed back here. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);

export interface ApiRequest {
  args: Record<string, unknown>;
  token?: string;
  /** Set when the body could not be read: Slack's error for it. */
  error?: string;
}

/**
 * Reads Web API arguments the way Slack accepts them: query string, form body (WebClient's default,
 * token in `Authorization: Bearer` or a `token` field) or JSON body (token only in the header).
 */
export function parseApiRequest(req: IncomingMessage, raw: string, url: URL, media: string): ApiRequest {
  const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
  let bodyToken: string | undefined;
  if (raw.length > 0) {
    if (media === 'application/x-www-form-urlencoded') {
      const form = Object.fromEntries(new URLSearchParams(raw));
      bodyToken = form.token;
      Object.assign(args, form);
    } else if (media === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return { args, error: 'invalid_json' };
      }
      if (!isRecord(parsed)) return { args, error: 'json_not_object' };
      Object.assign(args, parsed);
      // A JSON body's `token` is not read by Slack: JSON requests authenticate by header only.
      delete args.token;
    } else if (media === '') {
      return { args, error: 'missing_post_type' };
    } else {
      return { args, error: 'invalid_post_type' };
    }
  }
  const queryToken = url.searchParams.get('token') ?? undefined;
  delete args.token;
  for (const key of JSON_FIELDS) {
    const value = args[key];
    if (typeof value !== 'string') continue;
    try {
      args[key] = JSON.parse(value);
    } catch {
      // Left as a string: the method refuses it with its own error.
    }
  }
  const header = req.headers.authorization;
  const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  const token = bearer ?? bodyToken ?? queryToken;
  return token ? { args, token } : { args };
}
