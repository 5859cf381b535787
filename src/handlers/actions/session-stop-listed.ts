import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { NOT_YOURS_TO_STEER } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { ControlOutcome } from '../../sessions/session-service.js';
import { answerClick } from '../answer-click.js';
import type { Surfaces } from '../index.js';

const REPLIES: Record<ControlOutcome, string> = {
  done: 'Stopping the agent. Run again once it has stopped.',
  already: 'Already stopping the agent.',
  not_running: 'That session is no longer running; run again.',
  not_allowed: NOT_YOURS_TO_STEER,
  wrong_message: NOT_YOURS_TO_STEER,
};

/** Stop on the list of live sessions shown when a run was refused at the limit (issue 19). */
export function sessionStopListed({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const outcome = await sessions.stopListed(
      principalFromInteraction(body),
      action.value ?? '',
      String(context.correlationId),
    );
    await answerClick(outbox, body, REPLIES[outcome]);
  };
}
