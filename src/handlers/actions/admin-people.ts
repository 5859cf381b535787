import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { adminOnlyMessage } from '../../blocks/agents.js';
import { adminActMessage, PEOPLE_BLOCK, PeopleActions, pickSomeoneMessage } from '../../blocks/people.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';
import { ViewState } from '../view-state.js';

const ACTS = {
  [PeopleActions.Revoke]: 'revoke',
  [PeopleActions.Suspend]: 'suspend',
  [PeopleActions.Resume]: 'resume',
} as const;

/**
 * Revoke, Suspend or Resume in the Home tab's admin section, on the person picked beside them. The
 * admin is the signed payload's user (the service checks them); the answer comes as a DM, since a
 * click on the Home tab has no response_url.
 */
export function adminPeople({ people, outbox }: Pick<Surfaces, 'people' | 'outbox'>) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const act = ACTS[action.action_id as keyof typeof ACTS];
    if (!act) return;
    const admin = principalFromInteraction(body);
    const userId = new ViewState(body.view?.state.values).selectedUser(PEOPLE_BLOCK, PeopleActions.Pick);
    if (!userId) return void (await outbox.toPerson(admin.userId, pickSomeoneMessage()));
    const outcome = await people[act](admin, { ...admin, userId }, String(context.correlationId));
    await outbox.toPerson(
      admin.userId,
      outcome.kind === 'not_admin' ? adminOnlyMessage() : adminActMessage(userId, outcome),
    );
  };
}
