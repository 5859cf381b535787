import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { ServerBlocks, serversModal } from '../../blocks/agents.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';
import { SUBMISSION_BUDGET_MS } from '../slack-limits.js';
import { ViewState } from '../view-state.js';

/** `/agent servers` → Add server: checked (a public https server, not on the list, metadata reachable), then allowed. */
export function adminServersSubmission({ servers }: Pick<Surfaces, 'servers'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const state = new ViewState(view.state.values);
    const outcome = await servers.add(
      principalFromInteraction(body),
      {
        name: state.text(ServerBlocks.name),
        url: state.text(ServerBlocks.url),
        authType: state.selected(ServerBlocks.auth),
      },
      String(context.correlationId),
      { checkWithinMs: SUBMISSION_BUDGET_MS },
    );
    switch (outcome.kind) {
      case 'not_admin':
        return ack({
          response_action: 'errors',
          errors: { [ServerBlocks.name]: 'Only Deputy admins can change the server list.' },
        });
      case 'invalid':
        return ack({ response_action: 'errors', errors: { [ServerBlocks[outcome.field]]: outcome.message } });
      case 'added':
        return ack({ response_action: 'update', view: serversModal(outcome.entries) });
    }
  };
}
