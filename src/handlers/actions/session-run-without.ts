import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { overBudgetMessage } from '../../blocks/budgets.js';
import { tooManyLiveMessage } from '../../blocks/limits.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerClick } from '../answer-click.js';
import type { Surfaces } from '../index.js';

/** Run without them: starts a run whose connections are missing, with only those its person has. */
export function sessionRunWithout({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const session = await sessions.runWithout(
      principalFromInteraction(body),
      action.value ?? '',
      String(context.correlationId),
    );
    if (session && 'kind' in session) {
      const refusal =
        session.kind === 'over_budget' ? overBudgetMessage(session.reached) : tooManyLiveMessage(session);
      await answerClick(outbox, body, refusal.text);
      return;
    }
    const reply = session
      ? `Started ${session.agentName} without them. Follow along in your DM with me.`
      : 'That run was already started, or is not yours.';
    // Told first; the session's thread opens right after.
    try {
      await answerClick(outbox, body, reply);
    } finally {
      session?.open();
    }
  };
}
