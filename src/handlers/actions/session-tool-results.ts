import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { loadingModal, noticeModal } from '../../blocks/messages.js';
import { NOT_YOURS_TO_STEER, plainMessage, toolResultsModal } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerClick } from '../answer-click.js';
import { openModalFirst } from '../commands/agent/modal-first.js';
import type { Surfaces } from '../index.js';

const TITLE = 'Tool results';

/**
 * Tool results on a progress message: a modal opens at once, then shows the session's tool calls
 * with their raw results, for the session's own person only.
 */
export function sessionToolResults({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const correlationId = String(context.correlationId);
    const timedOut = await openModalFirst(
      outbox,
      { triggerId: body.trigger_id, correlationId },
      loadingModal(TITLE),
      async () => {
        const outcome = await sessions.toolResults(
          principalFromInteraction(body),
          action.value ?? '',
          correlationId,
        );
        return outcome.kind === 'results'
          ? toolResultsModal(outcome.agentName, outcome.calls)
          : noticeModal(TITLE, plainMessage(NOT_YOURS_TO_STEER));
      },
    );
    if (timedOut) await answerClick(outbox, body, timedOut.text);
  };
}
