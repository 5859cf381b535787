import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { BasicsBlocks, setupToolsModal } from '../../blocks/agents.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';
import { ViewState } from '../view-state.js';

/** Step 1 of `/agent setup` submitted: the basics checked, then the tools step in its place. */
export function adminSetupBasicsSubmission({ agentSetup }: Pick<Surfaces, 'agentSetup'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const state = new ViewState(view.state.values);
    const outcome = await agentSetup.submitBasics(
      principalFromInteraction(body),
      view.private_metadata,
      {
        name: state.text(BasicsBlocks.name),
        description: state.text(BasicsBlocks.description),
        model: state.selected(BasicsBlocks.model),
        system: state.text(BasicsBlocks.system),
        serverIds: state.selectedMany(BasicsBlocks.servers),
        access: state.selected(BasicsBlocks.access),
        users: state.selectedMany(BasicsBlocks.users),
        channels: state.selectedMany(BasicsBlocks.channels),
        groups: state.text(BasicsBlocks.groups),
        writers: state.selectedMany(BasicsBlocks.writers),
        ceiling: state.text(BasicsBlocks.ceiling),
        approvers: state.text(BasicsBlocks.approvers),
        memory: state.selected(BasicsBlocks.memory),
        skills: state.selectedMany(BasicsBlocks.skills),
      },
      String(context.correlationId),
    );
    const errors = (shown: Partial<Record<keyof typeof BasicsBlocks, string>>) =>
      ack({
        response_action: 'errors',
        errors: Object.fromEntries(
          Object.entries(shown).map(([field, text]) => [
            BasicsBlocks[field as keyof typeof BasicsBlocks],
            text,
          ]),
        ),
      });
    switch (outcome.kind) {
      case 'not_admin':
        return errors({ model: 'Only Deputy admins can set up agents.' });
      case 'out_of_date':
        return errors({ model: 'This form is out of date; run /agent setup again.' });
      case 'invalid':
        return errors(outcome.errors);
      case 'tools':
        return ack({ response_action: 'update', view: setupToolsModal(outcome.step) });
    }
  };
}
