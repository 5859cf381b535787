import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { AdminViews, adminOnlyMessage, catalogLinkMessage, serversModal } from '../../blocks/agents.js';
import { plainText } from '../../blocks/messages.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/**
 * Connect or Disconnect catalog account, in the `/agent servers` modal. Connect sends the admin a
 * single-use link by DM (a modal has nowhere to answer); Disconnect updates the modal. The button's
 * value only names the server; who acts comes from the signed payload, checked again by the service.
 */
export function adminCatalogAccount({ servers, outbox }: Pick<Surfaces, 'servers' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const admin = principalFromInteraction(body);
    const correlationId = String(context.correlationId);
    const connectorId = action.value ?? '';
    if (action.action_id === AdminViews.CatalogConnect) {
      const outcome = await servers.catalogLink(admin, connectorId, correlationId);
      const reply =
        outcome.kind === 'link'
          ? catalogLinkMessage(outcome.connectorName, outcome.link)
          : outcome.kind === 'not_admin'
            ? adminOnlyMessage()
            : plainText(
                'That server is not on the list, or takes no catalog account (its people paste a token). Nothing was changed.',
              );
      await outbox.toPerson(admin.userId, reply);
      return;
    }
    const outcome = await servers.disconnectCatalog(admin, connectorId, correlationId);
    if (outcome.kind === 'list' && body.view)
      await outbox.updateView(body.view.id, serversModal(outcome.entries));
    else if (outcome.kind === 'not_admin') await outbox.toPerson(admin.userId, adminOnlyMessage());
  };
}
