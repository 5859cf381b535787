import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { principalFromInteraction } from '../../identity/principal.js';
import type { ControlOutcome } from '../../sessions/session-service.js';
import { answerClick } from '../answer-click.js';
import { clickedMessage } from '../clicked-message.js';
import type { Surfaces } from '../index.js';

/**
 * A button on a session's root message that only its own person may press (Stop, Share): the session
 * named by the button, the person and the message from the signed payload, and a private answer
 * either way.
 */
export function sessionControl(control: 'stop' | 'share', replies: Record<ControlOutcome, string>) {
  return ({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) =>
    async ({
      ack,
      body,
      action,
      context,
    }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
      await ack();
      const outcome = await sessions[control](
        principalFromInteraction(body),
        action.value ?? '',
        String(context.correlationId),
        clickedMessage(body),
      );
      await answerClick(outbox, body, replies[outcome]);
    };
}
