import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { NOT_YOURS_TO_STEER } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerClick } from '../answer-click.js';
import type { Surfaces } from '../index.js';

/** Share to channel: the result goes to the channel the session was run in, on its own person's click. */
export function sessionShare({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const outcome = await sessions.share(
      principalFromInteraction(body),
      action.value ?? '',
      String(context.correlationId),
    );
    const reply = outcome === 'done' ? 'Shared.' : NOT_YOURS_TO_STEER;
    await answerClick(outbox, body, reply);
  };
}
