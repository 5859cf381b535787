import type { AllMiddlewareArgs, AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import { z } from 'zod';
import { isAuditUnavailable } from '../audit/audit-log.js';
import { auditUnavailableMessage, busyMessage, errorMessage, type SlackMessage } from '../blocks/messages.js';
import type { Logger } from '../logger.js';
import type { Outbox } from '../outbox/outbox.js';
import type { Work } from '../work.js';

/** What the HTTP front puts in a delivery's context: whether Slack has had its answer yet. */
export interface DeliveryAnswer {
  readonly answered: boolean;
}

/**
 * How a delivery refused because the process is at its limit of work tells its person to try again:
 * the ack of a command or a modal where it can carry the message, else the click's response_url.
 */
export interface BusyAnswers {
  /** The ack body for a delivery of this shape, or undefined for an empty one. */
  ack(body: { command?: unknown; type?: unknown; view?: unknown }): unknown;
  /** Tells the person behind a click, best effort, after the empty ack. */
  tell(responseUrl: string): void;
}

export function busyAnswers(deps: { outbox: Outbox; work: Pick<Work, 'track'> }): BusyAnswers {
  const message = busyMessage();
  return {
    ack: (body) => {
      if (typeof body.command === 'string') return { response_type: 'ephemeral', ...message };
      const firstInput = body.type === 'view_submission' ? firstInputOf(body.view) : undefined;
      return firstInput ? { response_action: 'errors', errors: { [firstInput]: message.text } } : undefined;
    },
    tell: (responseUrl) => {
      deps.work
        .track(() => deps.outbox.respond(responseUrl, message, { replaceOriginal: false }))
        .catch(() => undefined);
    },
  };
}

/** The block id of a submitted modal's first input, where an error about the whole form is shown. */
function firstInputOf(view: unknown): string | undefined {
  const parsed = z
    .looseObject({ state: z.looseObject({ values: z.record(z.string(), z.unknown()) }) })
    .safeParse(view);
  return parsed.success ? Object.keys(parsed.data.state.values)[0] : undefined;
}

/** Where a person can be told something privately, read from a payload that already passed its checks. */
const reachable = z.looseObject({
  command: z.string().optional(),
  type: z.string().optional(),
  user_id: z.string().optional(),
  user: z.looseObject({ id: z.string() }).optional(),
  response_url: z.string().optional(),
  response_urls: z.array(z.looseObject({ response_url: z.string() })).optional(),
  view: z.unknown().optional(),
  event: z
    .looseObject({ user: z.unknown(), channel: z.unknown(), thread_ts: z.string().optional() })
    .optional(),
});

/**
 * Bolt global middleware around every listener: a listener that fails (before or after its ack) is
 * logged with the delivery's correlation id, Slack still gets its answer, and the person hears of it
 * privately where there is a way to reach them: in the ack itself (a command's ephemeral reply, a
 * modal's inline error), through the response_url, as an ephemeral in the event's conversation, or
 * else in a DM. Nothing reaches Bolt's "unhandled" error handler.
 */
export function answerListenerFailures(deps: {
  outbox: Outbox;
  logger: Logger;
}): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    try {
      await args.next();
    } catch (error) {
      const correlationId = String(args.context.correlationId);
      const payload = reachable.safeParse(args.body);
      const body: Reachable = payload.success ? payload.data : {};
      deps.logger.error('listener failed', {
        error: String(error),
        correlationId,
        type: body.type ?? body.command,
      });
      const message = failureMessage(error, correlationId);
      const told = await tellPerson(deps.outbox, args, body, message).catch((failure: unknown) => {
        deps.logger.warn('could not tell the person a listener failed', {
          error: String(failure),
          correlationId,
        });
        return 'nobody';
      });
      deps.logger.info('listener failure answered', { correlationId, told });
    }
  };
}

/** What a person is told of a failure: an action refused for want of its audit record says so. */
export function failureMessage(error: unknown, correlationId: string): SlackMessage {
  return isAuditUnavailable(error) ? auditUnavailableMessage(correlationId) : errorMessage(correlationId);
}

type Reachable = z.infer<typeof reachable>;
type AckArgs = { ack?: (response?: unknown) => Promise<void> };

async function tellPerson(
  outbox: Outbox,
  args: AnyMiddlewareArgs & AllMiddlewareArgs,
  body: Reachable,
  message: SlackMessage,
): Promise<string> {
  const ack = (args as AckArgs).ack;
  const answered = (args.context.delivery as DeliveryAnswer | undefined)?.answered ?? false;
  if (ack && !answered) {
    // Over HTTP the front says whether Slack has its answer; Socket Mode does not, and its ack refuses
    // a second call, so there a refused ack means the listener had acked and the reply goes below.
    const firstInput = body.type === 'view_submission' ? firstInputOf(body.view) : undefined;
    const answer = body.command
      ? { response_type: 'ephemeral', ...message }
      : firstInput
        ? { response_action: 'errors', errors: { [firstInput]: message.text } }
        : undefined;
    const acked = await ack(answer).then(
      () => true,
      () => false,
    );
    if (acked && answer) return body.command ? 'in the ack' : 'in the modal';
  }
  const responseUrl = body.response_url ?? body.response_urls?.[0]?.response_url;
  if (responseUrl) {
    await outbox.respond(responseUrl, message, { replaceOriginal: false });
    return 'through the response_url';
  }
  const event = body.event;
  if (event && typeof event.user === 'string' && typeof event.channel === 'string') {
    await outbox.ephemeral(
      {
        channelId: event.channel,
        userId: event.user,
        ...(event.thread_ts ? { threadTs: event.thread_ts } : {}),
      },
      message,
    );
    return 'in the conversation';
  }
  const userId = body.user?.id ?? body.user_id;
  if (userId && !event) {
    await outbox.toPerson(userId, message);
    return 'in a DM';
  }
  return 'nobody';
}
