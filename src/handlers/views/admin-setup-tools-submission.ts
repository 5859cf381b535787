import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import {
  agentSavedMessage,
  agentSavedModal,
  CONFIRM_WRITES_BLOCK,
  savingAgentModal,
  setupToolsModal,
  toolBlockId,
} from '../../blocks/agents.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';
import { ViewState } from '../view-state.js';

/** Step 2 of `/agent setup` submitted: per-tool settings, a second confirmation for writes without asking, then the save. */
export function adminSetupToolsSubmission({ agentSetup, outbox }: Pick<Surfaces, 'agentSetup' | 'outbox'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const correlationId = String(context.correlationId);
    const principal = principalFromInteraction(body);
    const state = new ViewState(view.state.values);
    const outcome = await agentSetup.submitTools(
      principal,
      view.private_metadata,
      {
        settingFor: (connectorId, toolName) => state.selected(toolBlockId(connectorId, toolName)),
        confirmations: state.selectedMany(CONFIRM_WRITES_BLOCK),
      },
      correlationId,
    );
    const error = (message: string) =>
      ack({ response_action: 'errors', errors: { [state.firstBlockId ?? CONFIRM_WRITES_BLOCK]: message } });
    switch (outcome.kind) {
      case 'not_admin':
        return error('Only Deputy admins can set up agents.');
      case 'out_of_date':
        return error('This form is out of date; run /agent setup again.');
      case 'invalid':
        return error('This configuration is not valid; run /agent setup again.');
      case 'again':
        return ack({ response_action: 'update', view: setupToolsModal(outcome.step) });
      case 'ready': {
        // The save takes longer than Slack waits: the modal says it is saving, then what came of it
        // (unless the admin closed it meanwhile), and a DM keeps the outcome.
        await ack({ response_action: 'update', view: savingAgentModal() });
        const saved = await agentSetup.save(principal, outcome, correlationId);
        await outbox.updateView(view.id, agentSavedModal(saved)).catch(() => undefined);
        await outbox.toPerson(principal.userId, agentSavedMessage(saved));
      }
    }
  };
}
