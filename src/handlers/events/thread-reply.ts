import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { overBudgetMessage } from '../../blocks/budgets.js';
import { rateLimitedMessage, tooManyLiveMessage } from '../../blocks/limits.js';
import {
  archivedReplyMessage,
  budgetReachedReplyMessage,
  endedReplyMessage,
  steerRefusedMessage,
} from '../../blocks/sessions.js';
import { principalFromEvent } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/**
 * A reply in a session's thread (the owner's DM, or a shared result in a channel) is a follow-up for
 * the agent when its own person writes it; anyone else gets a private refusal and nothing is sent.
 */
export function threadReply({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({ body, event, context }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    if (!('thread_ts' in event) || !event.thread_ts || 'bot_id' in event || event.subtype !== undefined)
      return;
    const principal = principalFromEvent(body);
    if (!principal) return;
    const text = 'text' in event && typeof event.text === 'string' ? event.text : '';
    const outcome = await sessions.followUp(
      principal,
      { channelId: event.channel, threadTs: event.thread_ts, text },
      String(context.correlationId),
    );
    const answer =
      outcome.kind === 'refused'
        ? steerRefusedMessage(outcome.owner)
        : outcome.kind === 'budget_reached'
          ? budgetReachedReplyMessage(outcome.sessionId)
          : outcome.kind === 'archived'
            ? archivedReplyMessage()
            : outcome.kind === 'ended'
              ? endedReplyMessage()
              : outcome.kind === 'rate_limited'
                ? rateLimitedMessage(outcome.limited)
                : outcome.kind === 'too_many_live'
                  ? tooManyLiveMessage(outcome, 'your message was not sent to the agent')
                  : outcome.kind === 'over_budget'
                    ? overBudgetMessage(outcome.reached, 'your message was not sent to the agent')
                    : undefined;
    if (answer) {
      await outbox
        .ephemeral({ channelId: event.channel, userId: principal.userId, threadTs: event.thread_ts }, answer)
        .catch(() => undefined);
    }
  };
}
