import { parse as parseQuery } from 'node:querystring';
import { z } from 'zod';

/**
 * The shapes Slack sends to `POST /slack/events`, checked after the signature and before Bolt sees
 * the body, so a signed but malformed request gets a 400 at once instead of reaching a listener.
 * Listeners validate their own fields further.
 */

const id = z.string().regex(/^[A-Z0-9][A-Z0-9_]{1,40}$/);

export const slashCommandSchema = z.object({
  command: z.string().regex(/^\/[\w-]{1,32}$/),
  text: z.string().max(40_000),
  user_id: id,
  team_id: id,
  enterprise_id: z.string().optional(),
  channel_id: z.string().min(1),
  response_url: z.url({ protocol: /^https?$/ }),
  trigger_id: z.string().min(1),
  api_app_id: z.string().optional(),
});

export const interactionSchema = z.object({
  type: z.enum([
    'block_actions',
    'view_submission',
    'view_closed',
    'shortcut',
    'message_action',
    'block_suggestion',
  ]),
  user: z.object({ id, team_id: z.string().nullable().optional() }),
  team: z.object({ id }).nullable().optional(),
  api_app_id: z.string().optional(),
});

export const eventEnvelopeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().min(1).max(200) }),
  z.object({
    type: z.literal('event_callback'),
    team_id: id,
    event_id: z.string().min(1),
    event: z.object({ type: z.string().min(1) }),
  }),
  z.object({ type: z.literal('app_rate_limited'), team_id: id }),
]);

export type EnvelopeProblem = { status: 400 | 415; message: string };

/** Parses and checks a verified body; returns a problem for a 4xx, or undefined when Bolt may have it. */
export function checkEnvelope(contentType: string, rawBody: Buffer): EnvelopeProblem | undefined {
  const text = rawBody.toString('utf8');
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    if (typeof form.payload === 'string') {
      const payload = parseJson(form.payload);
      return interactionSchema.safeParse(payload).success
        ? undefined
        : { status: 400, message: 'Malformed interaction payload.' };
    }
    if (form.ssl_check === '1') return undefined;
    return slashCommandSchema.safeParse(form).success
      ? undefined
      : { status: 400, message: 'Malformed slash command.' };
  }
  if (contentType === 'application/json') {
    return eventEnvelopeSchema.safeParse(parseJson(text)).success
      ? undefined
      : { status: 400, message: 'Malformed event.' };
  }
  return { status: 415, message: 'Slack requests are form-encoded or JSON.' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
