import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { NOT_YOURS_TO_STEER } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerClick } from '../answer-click.js';
import type { Surfaces } from '../index.js';

/**
 * A button on a session that only its own person may press (Stop, Share): the session named by the
 * button, the person from the signed payload, and a private answer either way.
 */
export function sessionControl(control: 'stop' | 'share', done: string) {
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
      );
      await answerClick(outbox, body, outcome === 'done' ? done : NOT_YOURS_TO_STEER);
    };
}
