import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Services } from '../../services.js';

/**
 * Disconnect: archives the clicker's own credential for that connector. Whose connection it is comes
 * from the signed payload's user, never from the button's value (which only names the connector).
 */
export function connectDisconnect(services: Services) {
  return async ({
    ack,
    body,
    action,
    respond,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const correlationId = String(context.correlationId);
    const principal = principalFromInteraction(body);
    await services.connections.disconnect(principal, action.value ?? '', correlationId);
    if (body.container.type === 'message' && body.response_url) {
      const message = await services.notices.connectMessage(principal, body.response_url);
      await respond({ replace_original: true, response_type: 'ephemeral', ...message });
    }
    await services.notices.publishHome(principal);
  };
}
