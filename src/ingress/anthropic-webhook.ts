import type { IncomingMessage, ServerResponse } from 'node:http';
import type Anthropic from '@anthropic-ai/sdk';
import type { CustomRoute } from '@slack/bolt';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import type { SlackConnectionNotices } from '../connections/slack-notices.js';
import { BodyTooLargeError, readBody } from '../http.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import type { RefusalAudit } from './http-front.js';

export const ANTHROPIC_WEBHOOK_PATH = '/webhooks/anthropic';

/** The thin envelope Anthropic sends; the rest is fetched or looked up by id. */
const envelopeSchema = z.object({
  type: z.literal('event'),
  id: z.string().min(1),
  data: z
    .object({ type: z.string().min(1), id: z.string().min(1), vault_id: z.string().optional() })
    .passthrough(),
});

export interface AnthropicWebhookOptions {
  anthropic: Anthropic;
  /** `whsec_…`; without it the route refuses everything. */
  signingKey?: string;
  store: Store;
  connections: ConnectionsService;
  notices: SlackConnectionNotices;
  refusals: RefusalAudit;
  clock: Clock;
  logger: Logger;
}

/**
 * `POST /webhooks/anthropic`: Standard Webhooks signatures (5-minute tolerance) verified over the raw
 * body by the SDK, replays ignored by webhook id. `vault_credential.refresh_failed` marks the
 * connection as needing a reconnect and DMs its owner a Reconnect button.
 */
export function anthropicWebhookRoute(options: AnthropicWebhookOptions): CustomRoute {
  return {
    path: ANTHROPIC_WEBHOOK_PATH,
    method: 'POST',
    handler: (req, res) => {
      handle(options, req, res).catch((error: unknown) => {
        options.logger.error('anthropic webhook failed', { error: String(error) });
        if (!res.headersSent) plain(res, 500, 'Internal error.');
      });
    },
  };
}

async function handle(
  options: AnthropicWebhookOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!options.signingKey) return plain(res, 404, 'Webhooks are not configured.');
  let body: string;
  try {
    body = (await readBody(req, 256 * 1024)).toString('utf8');
  } catch (error) {
    if (error instanceof BodyTooLargeError) return plain(res, 413, 'Request too large.');
    throw error;
  }
  const headers = Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [
      name,
      String(req.headers[name] ?? ''),
    ]),
  );
  let payload: unknown;
  try {
    payload = options.anthropic.beta.webhooks.unwrap(body, { headers, key: options.signingKey });
  } catch {
    await options.refusals.refused('bad_signature');
    return plain(res, 401, 'Unauthorized.');
  }
  const envelope = envelopeSchema.safeParse(payload);
  if (!envelope.success) return plain(res, 400, 'Malformed event.');
  // Senders retry with the same id; only the first delivery acts.
  if (
    !(await options.store.webhookReceipts.first(
      headers['webhook-id'] ?? envelope.data.id,
      options.clock.now(),
    ))
  ) {
    return plain(res, 200, 'Already handled.');
  }
  const { data } = envelope.data;
  try {
    if (data.type === 'vault_credential.refresh_failed')
      await reconnectNeeded(options, data.id, envelope.data.id);
  } catch (error) {
    // Not handled after all: let the sender's retry through.
    await options.store.webhookReceipts.forget(headers['webhook-id'] ?? envelope.data.id);
    throw error;
  }
  plain(res, 200, 'OK.');
}

/** A credential's refresh failed: its connection needs a reconnect, and its owner hears about it. */
async function reconnectNeeded(
  options: AnthropicWebhookOptions,
  credentialId: string,
  eventId: string,
): Promise<void> {
  const connection = await options.store.connections.byCredential(credentialId);
  const connector = connection ? await options.connections.connector(connection.connectorId) : undefined;
  if (
    connection &&
    connector &&
    (await options.connections.markNeedsReconnect(connection, 'refresh_failed', eventId))
  ) {
    await options.notices.needsReconnect(connection.principal, connector);
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}
