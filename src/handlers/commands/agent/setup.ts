import { adminOnlyMessage, noSuchAgentMessage, setupBasicsModal } from '../../../blocks/agents.js';
import { loadingModal, noticeModal, type SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';
import { openModalFirst } from './modal-first.js';

const TITLE = 'Set up an agent';

/** `/agent setup [name]` (admins): step 1 of setting up an agent, new or the named one. */
export function agentSetup(
  { agentSetup: setup, outbox }: Pick<Surfaces, 'agentSetup' | 'outbox'>,
  command: CommandContext,
  agentName: string | undefined,
): Promise<SlackMessage | undefined> {
  return openModalFirst(outbox, command, loadingModal(TITLE), async () => {
    const outcome = await setup.open(command.principal, agentName, command.correlationId);
    switch (outcome.kind) {
      case 'not_admin':
        return noticeModal(TITLE, adminOnlyMessage());
      case 'no_such_agent':
        return noticeModal(TITLE, noSuchAgentMessage(outcome.name));
      case 'basics':
        return setupBasicsModal(
          outcome.servers,
          outcome.skills,
          outcome.agent ? { agent: outcome.agent } : undefined,
        );
    }
  });
}
