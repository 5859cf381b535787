import { adminOnlyMessage, noSuchAgentMessage, setupBasicsModal } from '../../../blocks/agents.js';
import { formTimedOutMessage, type SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent setup [name]` (admins): step 1 of setting up an agent, new or the named one. */
export async function agentSetup(
  { agentSetup: setup, outbox }: Pick<Surfaces, 'agentSetup' | 'outbox'>,
  command: CommandContext,
  agentName: string | undefined,
): Promise<SlackMessage | undefined> {
  const outcome = await setup.open(command.principal, agentName, command.correlationId);
  switch (outcome.kind) {
    case 'not_admin':
      return adminOnlyMessage();
    case 'no_such_agent':
      return noSuchAgentMessage(outcome.name);
    case 'basics': {
      const opened = await outbox.openView(
        command.triggerId,
        setupBasicsModal(outcome.servers, outcome.agent ? { agent: outcome.agent } : undefined),
      );
      return opened === 'trigger_expired' ? formTimedOutMessage() : undefined;
    }
  }
}
