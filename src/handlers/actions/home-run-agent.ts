import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { formTimedOutMessage } from '../../blocks/messages.js';
import { homeRunModal } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/** Run on an agent in the Home tab: a modal asks what it should do (the run itself is the submission's). */
export function homeRunAgent({ outbox }: Pick<Surfaces, 'outbox'>) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const agentName = action.value ?? '';
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(agentName)) return;
    const opened = await outbox.openView(body.trigger_id, homeRunModal(agentName));
    if (opened.kind === 'trigger_expired')
      await outbox
        .toPerson(principalFromInteraction(body).userId, formTimedOutMessage())
        .catch(() => undefined);
  };
}
