import { parse as parseQuery } from 'node:querystring';
import { z } from 'zod';
import { slackIdSchema } from '../identity/principal.js';

/**
 * The shapes Slack sends to `POST /slack/events`, checked after the signature and before Bolt sees
 * the body: every field Bolt's dispatch or a Deputy listener reads is here with its type and Slack's
 * own bound, so a signed but malformed request is a 400 and never reaches code that can throw. Objects
 * are loose (Slack adds fields over time); what is read is strict.
 */

const id = slackIdSchema;
/** An id that may be absent, null or empty (a workspace outside Enterprise Grid), or else a real one. */
const optionalId = z.union([id, z.literal(''), z.null()]).optional();
/** Slack's message timestamps (`1795984207.983000`); some events send `event_ts` without the fraction. */
const ts = z.string().regex(/^\d{1,20}(\.\d{1,9})?$/);
const triggerId = z.string().regex(/^\d{1,20}\.\d{1,20}\.[A-Za-z0-9]{1,64}$/);
const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);

// Block Kit's limits: https://docs.slack.dev/reference/block-kit/block-elements
const actionId = z.string().min(1).max(255);
const blockId = z.string().min(1).max(255);
const callbackId = z.string().max(255);
const buttonValue = z.string().max(2000);
const option = z.looseObject({ value: z.string().max(150) });
const selectedIds = z.array(id).max(100);

/** One input's state in a submitted view or a message's inputs. */
const elementState = z.looseObject({
  type: z.string().min(1).max(64),
  value: z.string().max(3000).nullable().optional(),
  selected_option: option.nullable().optional(),
  selected_options: z.array(option).max(100).optional(),
  selected_user: id.nullable().optional(),
  selected_users: selectedIds.optional(),
  selected_conversation: id.nullable().optional(),
  selected_conversations: selectedIds.optional(),
  selected_channel: id.nullable().optional(),
  selected_channels: selectedIds.optional(),
});
const stateValues = z.record(blockId, z.record(actionId, elementState));

const view = z.looseObject({
  id,
  type: z.string().min(1).max(32),
  callback_id: callbackId.optional(),
  private_metadata: z.string().max(3000).optional(),
  hash: z.string().max(128).optional(),
  app_installed_team_id: id.optional(),
  state: z.looseObject({ values: stateValues }).optional(),
});
const submittedView = view.extend({ state: z.looseObject({ values: stateValues }) });

const action = z.looseObject({
  type: z.string().min(1).max(64),
  action_id: actionId,
  block_id: blockId,
  action_ts: ts,
  value: buttonValue.optional(),
  selected_option: option.nullable().optional(),
  selected_options: z.array(option).max(100).optional(),
  selected_user: id.optional(),
  selected_users: selectedIds.optional(),
});

const user = z.looseObject({ id, team_id: optionalId });
const team = z.looseObject({ id, enterprise_id: optionalId }).nullable().optional();
/**
 * Bolt tells a body's kind by the first of these keys it finds (`event`, `command`, `name`,
 * `actions`), before its `type`: a payload carrying one that does not belong to its kind would be
 * dispatched as something else.
 */
const notAnotherKind = {
  event: z.never().optional(),
  command: z.never().optional(),
  name: z.never().optional(),
};

const interactionCommon = {
  ...notAnotherKind,
  actions: z.never().optional(),
  user,
  team,
  enterprise: z.looseObject({ id }).nullable().optional(),
  api_app_id: z.string().max(32).optional(),
  is_enterprise_install: z.boolean().optional(),
};

const interactionSchema = z.discriminatedUnion('type', [
  z.looseObject({
    ...interactionCommon,
    type: z.literal('block_actions'),
    trigger_id: triggerId.optional(),
    container: z.looseObject({ type: z.string().min(1).max(32) }),
    channel: z.looseObject({ id }).optional(),
    message: z.looseObject({ ts }).optional(),
    view: view.optional(),
    state: z.looseObject({ values: stateValues }).optional(),
    response_url: httpUrl.optional(),
    actions: z.array(action).length(1),
    function_data: z.looseObject({ execution_id: z.string().min(1).max(255) }).optional(),
  }),
  z.looseObject({
    ...interactionCommon,
    type: z.literal('view_submission'),
    trigger_id: triggerId.optional(),
    view: submittedView,
    response_urls: z
      .array(z.looseObject({ response_url: httpUrl, channel_id: id }))
      .max(10)
      .optional(),
  }),
  z.looseObject({ ...interactionCommon, type: z.literal('view_closed'), view }),
  z.looseObject({
    ...interactionCommon,
    type: z.literal('shortcut'),
    callback_id: callbackId,
    trigger_id: triggerId,
  }),
  z.looseObject({
    ...interactionCommon,
    type: z.literal('message_action'),
    callback_id: callbackId,
    trigger_id: triggerId,
    channel: z.looseObject({ id }),
    message: z.looseObject({ ts }),
    response_url: httpUrl.optional(),
  }),
  z.looseObject({
    ...interactionCommon,
    type: z.literal('block_suggestion'),
    action_id: actionId,
    block_id: blockId,
    value: z.string().max(3000),
  }),
]);

/** Whose a request is, as identity will read it: a team must be named somewhere. */
const withTeam = interactionSchema.refine((body) => Boolean(body.team?.id ?? body.user.team_id), {
  message: 'an interaction names no team',
});

const slashCommandSchema = z.looseObject({
  event: z.never().optional(),
  command: z.string().regex(/^\/[\w-]{1,32}$/),
  text: z.string().max(40_000),
  user_id: id,
  team_id: id,
  enterprise_id: optionalId,
  channel_id: id,
  response_url: httpUrl,
  trigger_id: triggerId,
  api_app_id: z.string().max(32).optional(),
  is_enterprise_install: z.enum(['true', 'false']).optional(),
});

/** A user or channel as events name them: an id, or an object with one. */
const named = z.union([id, z.looseObject({ id })]);

const eventSchema = z
  .looseObject({
    type: z.string().regex(/^[a-z_]{1,64}$/),
    user: named.optional(),
    channel: named.optional(),
    channel_id: id.optional(),
    item: z.looseObject({ channel: id.optional() }).optional(),
    subteam: z.looseObject({ created_by: id.optional() }).optional(),
    ts: ts.optional(),
    thread_ts: ts.optional(),
    event_ts: ts.optional(),
    text: z.string().max(40_000).optional(),
    function_execution_id: z.string().min(1).max(255).optional(),
  })
  .refine((event) => event.type !== 'function_executed' || event.function_execution_id !== undefined, {
    message: 'function_executed without its execution id',
  });

const authorization = z.looseObject({
  team_id: id.nullable(),
  enterprise_id: id.nullable().optional(),
  user_id: id.optional(),
  is_enterprise_install: z.boolean().optional(),
});

const eventEnvelopeSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('url_verification'), challenge: z.string().min(1).max(200) }),
  z.looseObject({
    type: z.literal('event_callback'),
    team_id: id,
    enterprise_id: optionalId,
    api_app_id: z.string().max(32).optional(),
    event_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    authorizations: z.array(authorization).min(1).max(10).optional(),
    event: eventSchema,
  }),
  z.looseObject({ type: z.literal('app_rate_limited'), team_id: id }),
]);

/** A Slack delivery that passed its checks, by what answers it. */
export type SlackDelivery =
  | { kind: 'command'; body: Record<string, unknown> }
  | { kind: 'interaction'; type: z.infer<typeof interactionSchema>['type']; body: Record<string, unknown> }
  | { kind: 'event'; body: Record<string, unknown> }
  /** Answered by the front itself, never dispatched. */
  | { kind: 'url_verification'; challenge: string }
  | { kind: 'ssl_check' }
  | { kind: 'app_rate_limited'; teamId: string };

export type EnvelopeProblem = { status: 400 | 415; message: string };

/** Parses and checks a verified body: the delivery to dispatch, or the problem to answer with a 4xx. */
export function checkEnvelope(
  contentType: string,
  rawBody: Buffer,
): { delivery: SlackDelivery } | { problem: EnvelopeProblem } {
  const text = rawBody.toString('utf8');
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    if (form.payload !== undefined) {
      const payload = typeof form.payload === 'string' ? parseJson(form.payload) : undefined;
      const interaction = withTeam.safeParse(payload);
      return interaction.success
        ? {
            delivery: {
              kind: 'interaction',
              type: interaction.data.type,
              body: payload as Record<string, unknown>,
            },
          }
        : malformed('Malformed interaction payload.');
    }
    if (form.ssl_check === '1') return { delivery: { kind: 'ssl_check' } };
    return slashCommandSchema.safeParse(form).success
      ? { delivery: { kind: 'command', body: { ...form } } }
      : malformed('Malformed slash command.');
  }
  if (contentType === 'application/json') {
    const body = parseJson(text);
    const envelope = eventEnvelopeSchema.safeParse(body);
    if (!envelope.success) return malformed('Malformed event.');
    switch (envelope.data.type) {
      case 'url_verification':
        return { delivery: { kind: 'url_verification', challenge: envelope.data.challenge } };
      case 'app_rate_limited':
        return { delivery: { kind: 'app_rate_limited', teamId: envelope.data.team_id } };
      case 'event_callback':
        return { delivery: { kind: 'event', body: body as Record<string, unknown> } };
    }
  }
  return { problem: { status: 415, message: 'Slack requests are form-encoded or JSON.' } };
}

function malformed(message: string): { problem: EnvelopeProblem } {
  return { problem: { status: 400, message } };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
