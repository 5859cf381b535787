import { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.js';

/** How Deputy reaches its Slack workspace. */
export interface SlackConnection {
  signingSecret: string;
  botToken: string;
  /** Web API base ending in `/`; Slack's own when absent. */
  apiUrl?: string;
}

/** Options every Web API client of Deputy's takes (Bolt's own included). */
export function slackClientOptions(connection: Pick<SlackConnection, 'apiUrl'>) {
  return { ...(connection.apiUrl ? { slackApiUrl: connection.apiUrl } : {}) };
}

/** The bot's Web API client. The outbox writes with it and the directory reads with it; nothing else calls it. */
export function createSlackClient(connection: SlackConnection, logger: Logger): WebClient {
  return new WebClient(connection.botToken, { ...slackClientOptions(connection), logger });
}

/** The `error` code of a Web API call Slack refused (`user_not_found`, `expired_trigger_id`, …). */
export function slackErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('data' in error)) return undefined;
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : undefined;
}
