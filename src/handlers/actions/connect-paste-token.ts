import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { pasteTokenModal } from '../../blocks/connections.js';
import { formTimedOutMessage } from '../../blocks/messages.js';
import { answerClick } from '../answer-click.js';
import type { Surfaces } from '../index.js';

/** Connect on a connector that takes a pasted token: opens the modal for it. */
export function connectPasteToken({ connections, outbox }: Pick<Surfaces, 'connections' | 'outbox'>) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const connector = await connections.pasteableConnector(action.value ?? '');
    if (connector?.auth.type !== 'static_token') return;
    const opened = await outbox.openView(
      body.trigger_id,
      pasteTokenModal({
        id: connector.id,
        name: connector.name,
        ...(connector.auth.help ? { help: connector.auth.help } : {}),
      }),
    );
    if (opened.kind === 'trigger_expired') await answerClick(outbox, body, formTimedOutMessage().text);
  };
}
