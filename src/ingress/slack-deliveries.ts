import { createHash } from 'node:crypto';
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';

const eventDelivery = z.object({ type: z.literal('event_callback'), event_id: z.string().min(1) });
const commandDelivery = z.object({ command: z.string().min(1), trigger_id: z.string().min(1) });
const clickDelivery = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1) }),
  actions: z
    .array(z.object({ action_id: z.string().min(1), action_ts: z.string().min(1) }))
    .min(1)
    .max(1),
});
const interactionDelivery = z.object({
  type: z.string().min(1),
  trigger_id: z.string().min(1).optional(),
});

/**
 * What makes a Slack delivery the same one when it comes again: the event id of an event, the
 * person, action and action timestamp of a click, the trigger of any other interaction (or, without
 * one, the digest of the payload). Undefined for a slash command, which is deduplicated where it acts
 * (`/agent run` records its run intent under the trigger id; the rest only read, or open a modal
 * Slack opens once per trigger), so its acknowledgement waits on no write; and for what changes
 * nothing and must be answered every time (an options request).
 */
export function deliveryKey(body: unknown): string | undefined {
  const event = eventDelivery.safeParse(body);
  if (event.success) return `event:${event.data.event_id}`;
  if (commandDelivery.safeParse(body).success) return undefined;
  const click = clickDelivery.safeParse(body);
  if (click.success) {
    const [action] = click.data.actions;
    return `click:${click.data.user.id}:${action?.action_id}:${action?.action_ts}`;
  }
  const interaction = interactionDelivery.safeParse(body);
  if (!interaction.success || interaction.data.type === 'block_suggestion') return undefined;
  return interaction.data.trigger_id
    ? `interaction:${interaction.data.trigger_id}`
    : `interaction:${createHash('sha256').update(JSON.stringify(body)).digest('base64url')}`;
}

/**
 * Bolt global middleware: each Slack delivery is taken once, by a conditional write, before any
 * listener runs. A retry (`X-Slack-Retry-Num`) or duplicate is acknowledged and does nothing; a
 * delivery whose listener failed is released, so Slack's next retry is handled.
 */
export function takeEachDeliveryOnce(deps: {
  store: Store;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
}): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const key = deliveryKey(args.body);
    if (!key) return args.next();
    const owner = deps.ids.next('dlv');
    if (!(await deps.store.slackDeliveries.take(key, owner, deps.clock.now()))) {
      deps.logger.info('duplicate Slack delivery ignored', {
        kind: key.slice(0, key.indexOf(':')),
        retryNum: args.context.retryNum,
        retryReason: args.context.retryReason,
        correlationId: args.context.correlationId,
      });
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      return;
    }
    try {
      await args.next();
    } catch (error) {
      await deps.store.slackDeliveries.release(key, owner).catch(() => undefined);
      throw error;
    }
  };
}
