import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { pasteTokenModal } from '../../blocks/connections.js';
import type { Services } from '../../services.js';

/** Opens the pasted-token modal for a static-token connector. */
export function connectPasteToken(services: Services) {
  return async ({
    ack,
    body,
    action,
    client,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const connector = await services.connections.connector(action.value ?? '');
    if (connector?.auth.type !== 'static_token') return;
    await client.views.open({
      trigger_id: body.trigger_id,
      view: pasteTokenModal({
        id: connector.id,
        name: connector.name,
        ...(connector.auth.help ? { help: connector.auth.help } : {}),
      }),
    });
  };
}
