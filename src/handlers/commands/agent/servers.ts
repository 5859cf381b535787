import { adminOnlyMessage, serversModal } from '../../../blocks/agents.js';
import { formTimedOutMessage, type SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent servers` (admins): the MCP server allow list in a modal. */
export async function agentServers(
  { servers, outbox }: Pick<Surfaces, 'servers' | 'outbox'>,
  command: CommandContext,
): Promise<SlackMessage | undefined> {
  const outcome = await servers.open(command.principal, command.correlationId);
  if (outcome.kind === 'not_admin') return adminOnlyMessage();
  const opened = await outbox.openView(command.triggerId, serversModal(outcome.entries));
  return opened === 'trigger_expired' ? formTimedOutMessage() : undefined;
}
