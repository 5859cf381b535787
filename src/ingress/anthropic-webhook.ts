import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import { z } from 'zod';
import type { ConnectionsService } from '../connections/connections-service.js';
import { plainResponse as plain, readBodyOrRefuse } from '../http.js';
import type { Logger } from '../logger.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Work } from '../work.js';
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

/** Webhooks that say a session has new events to relay (the SDK's names for its status changes). */
const SESSION_MOVED = new Set([
  'session.status_run_started',
  'session.status_idled',
  'session.status_rescheduled',
  'session.status_terminated',
  'session.running',
  'session.idled',
  'session.requires_action',
  'session.budget_reached',
]);

/**
 * Standard Webhooks headers exactly as Anthropic sends them, each once: an id, whole seconds, and
 * `v1,<base64>` signatures separated by spaces. Anything else is refused before the signature is
 * computed (a `1795986541.5` timestamp would otherwise be read as 1795986541).
 */
const signatureHeaders = z.object({
  'webhook-id': z.string().regex(/^[\x21-\x7e]{1,256}$/),
  'webhook-timestamp': z.string().regex(/^\d{1,12}$/),
  'webhook-signature': z.string().regex(/^v1,[A-Za-z0-9+/]{43}=( v1,[A-Za-z0-9+/]{43}=){0,7}$/),
});

/** Verifies a delivery's Standard Webhooks signature over its raw body and returns its payload; throws if forged. */
export type WebhookVerifier = (body: string, headers: Record<string, string>) => unknown;

export interface AnthropicWebhookOptions {
  /** Absent when no signing key is configured: the route then refuses everything. */
  verify?: WebhookVerifier;
  connections: Pick<ConnectionsService, 'credentialRefreshFailed' | 'webhookSeen'>;
  sessions: Pick<SessionService, 'woken'>;
  refusals: RefusalAudit;
  logger: Logger;
  /** Counts the delivery's handling as the runtime's work (a stop drains it; tests wait on it). */
  work: Pick<Work, 'track'>;
}

/**
 * `POST /webhooks/anthropic`: Standard Webhooks signatures (5-minute tolerance) verified over the raw
 * body by the SDK, replays ignored by webhook id. `vault_credential.refresh_failed` marks the
 * connection as needing a reconnect and DMs its owner a Reconnect button; a session that started
 * running, paused or ended is relayed (a session that waits holds no stream: this wakes it).
 */
export function anthropicWebhookRoute(options: AnthropicWebhookOptions): CustomRoute {
  return {
    path: ANTHROPIC_WEBHOOK_PATH,
    method: 'POST',
    handler: (req, res) => {
      options.work
        .track(() => handle(options, req, res))
        .catch((error: unknown) => {
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
  if (!options.verify) return plain(res, 404, 'Webhooks are not configured.');
  const raw = await readBodyOrRefuse(req, res, 256 * 1024, options.logger);
  if (!raw) return;
  const body = raw.toString('utf8');
  const headers = signatureHeaders.safeParse(req.headers);
  if (!headers.success) {
    await options.refusals.refused('malformed_headers');
    return plain(res, 401, 'Unauthorized.');
  }
  let payload: unknown;
  try {
    payload = options.verify(body, headers.data);
  } catch (error) {
    // The SDK verifies first, then parses: a SyntaxError means the signature held and the body is not JSON.
    const signedButMalformed = error instanceof SyntaxError;
    await options.refusals.refused(signedButMalformed ? 'malformed_body' : 'bad_signature');
    return signedButMalformed ? plain(res, 400, 'Malformed event.') : plain(res, 401, 'Unauthorized.');
  }
  const envelope = envelopeSchema.safeParse(payload);
  if (!envelope.success) {
    await options.refusals.refused('malformed_body');
    return plain(res, 400, 'Malformed event.');
  }
  // Senders retry with the same id; only the first delivery acts.
  const deliveryId = headers.data['webhook-id'];
  const { data } = envelope.data;
  const handled =
    data.type === 'vault_credential.refresh_failed'
      ? await options.connections.credentialRefreshFailed(deliveryId, data.id, envelope.data.id)
      : await options.connections.webhookSeen(deliveryId);
  if (handled !== 'duplicate' && SESSION_MOVED.has(data.type)) await options.sessions.woken(data.id);
  plain(res, 200, handled === 'duplicate' ? 'Already handled.' : 'OK.');
}
