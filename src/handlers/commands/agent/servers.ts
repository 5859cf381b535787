import { adminOnlyMessage, serversModal } from '../../../blocks/agents.js';
import { loadingModal, noticeModal, type SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';
import { openModalFirst } from './modal-first.js';

const TITLE = 'MCP servers';

/** `/agent servers` (admins): the MCP server allow list in a modal. */
export function agentServers(
  { servers, outbox }: Pick<Surfaces, 'servers' | 'outbox'>,
  command: CommandContext,
): Promise<SlackMessage | undefined> {
  return openModalFirst(outbox, command, loadingModal(TITLE), async () => {
    const outcome = await servers.open(command.principal, command.correlationId);
    return outcome.kind === 'not_admin'
      ? noticeModal(TITLE, adminOnlyMessage())
      : serversModal(outcome.entries);
  });
}
