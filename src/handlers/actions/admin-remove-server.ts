import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { serversModal } from '../../blocks/agents.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/** Remove, in the `/agent servers` modal: takes an allow-list server off the list. */
export function adminRemoveServer({ servers, outbox }: Pick<Surfaces, 'servers' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const outcome = await servers.remove(
      principalFromInteraction(body),
      action.value ?? '',
      String(context.correlationId),
    );
    if (outcome.kind === 'list' && body.view)
      await outbox.updateView(body.view.id, serversModal(outcome.entries, outcome.notice));
  };
}
