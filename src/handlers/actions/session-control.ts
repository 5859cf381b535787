import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { principalFromInteraction } from '../../identity/principal.js';
import type { SessionService } from '../../sessions/session-service.js';
import { answerClick } from '../answer-click.js';
import { clickedMessage } from '../clicked-message.js';
import type { Surfaces } from '../index.js';

/**
 * A button on a session's root message that only its own person may press (Stop, Share): the session
 * named by the button, the person and the message from the signed payload, and a private answer
 * either way (`answer` says what each outcome is told).
 */
type Control = 'stop' | 'share';
/** What each control can come to: a reply for every one of them is required. */
type OutcomeOf<C extends Control> = Awaited<ReturnType<SessionService[C]>>;

export function sessionControl<C extends Control>(control: C, answer: (outcome: OutcomeOf<C>) => string) {
  return ({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) =>
    async ({
      ack,
      body,
      action,
      context,
    }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
      await ack();
      const args = [
        principalFromInteraction(body),
        action.value ?? '',
        String(context.correlationId),
        clickedMessage(body),
      ] as const;
      const outcome = (
        control === 'stop' ? await sessions.stop(...args) : await sessions.share(...args)
      ) as OutcomeOf<C>;
      await answerClick(outbox, body, answer(outcome));
    };
}
