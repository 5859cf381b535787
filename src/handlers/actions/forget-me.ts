import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { forgottenMessage } from '../../blocks/people.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/**
 * "Forget me", confirmed: forgets the clicker, who comes from the signed payload (the button carries
 * nothing). The answer replaces the message clicked in.
 */
export function forgetMe({ privacy, outbox }: Pick<Surfaces, 'privacy' | 'outbox'>) {
  return async ({ ack, body, context }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const outcome = await privacy.forget(principalFromInteraction(body), String(context.correlationId));
    const reply = forgottenMessage(outcome);
    if (body.container.type === 'message' && body.response_url)
      await outbox.respond(body.response_url, reply, { replaceOriginal: true });
    else await outbox.toPerson(body.user.id, reply);
  };
}
