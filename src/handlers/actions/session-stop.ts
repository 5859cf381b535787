import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { NOT_YOURS_TO_STEER } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerClick } from '../answer-click.js';
import type { Surfaces } from '../index.js';

/** Stop: interrupts the agent, for the session's own person only. */
export function sessionStop({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const outcome = await sessions.stop(
      principalFromInteraction(body),
      action.value ?? '',
      String(context.correlationId),
    );
    const reply = outcome === 'done' ? 'Stopping the agent.' : NOT_YOURS_TO_STEER;
    await answerClick(outbox, body, reply);
  };
}
