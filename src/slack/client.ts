import { type FetchFunction, WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';
import type { PacedCall, SlackPacer } from './rate-limits.js';

/** How Deputy reaches its Slack workspace. */
export interface SlackConnection {
  signingSecret: string;
  botToken: string;
  /** Web API base ending in `/`; Slack's own when absent. */
  apiUrl?: string;
}

/** Slack's own Web API base, WebClient's default. */
const SLACK_API_URL = 'https://slack.com/api/';

/** Options every Web API client of Deputy's takes (Bolt's own included). */
export function slackClientOptions(connection: Pick<SlackConnection, 'apiUrl'>) {
  return { ...(connection.apiUrl ? { slackApiUrl: connection.apiUrl } : {}) };
}

/**
 * The bot's Web API client. The outbox writes with it and the directory reads with it; nothing else
 * calls it. Every call goes through `pacer`, which keeps to Slack's limits and waits out a 429 for
 * that call alone: the client's own handling would pause every call of the process, and its
 * concurrency cap would let calls waiting their turn hold up the rest.
 */
export function createSlackClient(connection: SlackConnection, logger: Logger, pacer: SlackPacer): WebClient {
  const apiBase = connection.apiUrl ?? SLACK_API_URL;
  const paced: FetchFunction = (url, init) => {
    // A file's bytes go to the upload URL Slack gave (files.slack.com): not a Web API method.
    if (!String(url).startsWith(apiBase)) return fetch(url, init);
    const method = new URL(url).pathname.split('/').at(-1) ?? '';
    return pacer.run({ method, ...placeOf(init?.body) }, () => fetch(url, init));
  };
  return new WebClient(connection.botToken, {
    ...slackClientOptions(connection),
    logger,
    fetch: paced,
    rejectRateLimitedCalls: true,
    // The pacer bounds what is sent; calls waiting in it must not take the slots of calls that may go.
    maxRequestConcurrency: 10_000,
  });
}

/**
 * What Slack says of a bot token (`auth.test`), tried once: its workspace and the scopes it
 * carries. Throws as the Web API does (see slackErrorCode) when Slack refuses it.
 */
export async function describeBotToken(
  connection: Pick<SlackConnection, 'botToken' | 'apiUrl'>,
  timeoutMs: number,
): Promise<{ teamId: string | undefined; scopes: string[] }> {
  const client = new WebClient(connection.botToken, {
    ...slackClientOptions(connection),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
  });
  const answer = await client.auth.test();
  return { teamId: answer.team_id, scopes: answer.response_metadata?.scopes ?? [] };
}

/** The arguments that place a call (its conversation, message, person), from the body WebClient sends. */
function placeOf(body: string | FormData | undefined): Omit<PacedCall, 'method'> {
  if (typeof body !== 'string') return {};
  let args: Record<string, unknown>;
  try {
    args = body.startsWith('{') ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
  } catch {
    return {};
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    channel: text(args.channel),
    ts: text(args.ts),
    threadTs: text(args.thread_ts),
    userId: text(args.user_id),
  };
}

/** The `error` code of a Web API call Slack refused (`user_not_found`, `expired_trigger_id`, …). */
export function slackErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('data' in error)) return undefined;
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : undefined;
}
