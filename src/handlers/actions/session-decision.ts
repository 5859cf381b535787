import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { rateLimitedText } from '../../blocks/limits.js';
import { NOT_FROM_ITS_MESSAGE, SessionActions } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Decision, DecisionOutcome } from '../../sessions/approvals.js';
import { answerClick } from '../answer-click.js';
import { clickedMessage } from '../clicked-message.js';
import type { Surfaces } from '../index.js';

const DECISIONS: Record<string, Decision> = {
  [SessionActions.Approve]: 'allow',
  [SessionActions.Deny]: 'deny',
  [SessionActions.ApproveFor15]: 'allow_15m',
};

const REPLIES: Record<Exclude<DecisionOutcome, 'decided' | object>, string> = {
  recorded: 'Your decision is recorded and will reach the agent shortly.',
  already_decided: 'This was already decided.',
  closed:
    'This request is no longer waiting (the agent stopped before it was decided), so nothing was approved.',
  wrong_message: NOT_FROM_ITS_MESSAGE,
  expired: 'This request expired before it was decided, so it was denied.',
  changed:
    'This call is no longer waiting as shown (it changed or was already resolved), so nothing was approved.',
  not_allowed:
    'Only the person who started this session (or the agent’s approver group) can decide. Nothing was changed.',
  unknown: 'This could not be completed; please try again.',
};

/**
 * Approve, Deny, Approve for 15 minutes, and Approve all. Who clicked, and on which message, come from
 * the signed payload; the button only names the approval (or session), never a person.
 */
export function sessionDecision({ approvals, outbox }: Pick<Surfaces, 'approvals' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const correlationId = String(context.correlationId);
    const clicker = principalFromInteraction(body);
    const value = action.value ?? '';
    const clickedOn = clickedMessage(body);
    const outcome =
      action.action_id === SessionActions.ApproveAll
        ? await approvals.approveAll(value, clicker, correlationId, clickedOn)
        : await approvals.decide(
            value,
            clicker,
            DECISIONS[action.action_id] ?? 'deny',
            correlationId,
            clickedOn,
          );
    if (typeof outcome === 'object') await answerClick(outbox, body, rateLimitedText(outcome));
    else if (outcome !== 'decided') await answerClick(outbox, body, REPLIES[outcome]);
  };
}
