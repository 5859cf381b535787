import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { connectMessage } from '../../blocks/connections.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/**
 * Disconnect: archives the clicker's own credential for that connector. Whose connection it is comes
 * from the signed payload's user, never from the button's value (which only names the connector).
 */
export function connectDisconnect({ connections, outbox }: Pick<Surfaces, 'connections' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    // The message clicked in is replaced with the new state (a Home tab click has no message).
    const responseUrl = body.container.type === 'message' ? body.response_url : undefined;
    const entries = await connections.disconnect(
      principalFromInteraction(body),
      action.value ?? '',
      responseUrl,
      String(context.correlationId),
    );
    if (responseUrl && entries)
      await outbox.respond(responseUrl, connectMessage(entries), { replaceOriginal: true });
  };
}
