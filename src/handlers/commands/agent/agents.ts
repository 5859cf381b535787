import { agentsMessage } from '../../../blocks/agents.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent agents`: the agents this person may run here, with their servers and each tool's setting. */
export async function agentsList(
  { agents }: Pick<Surfaces, 'agents'>,
  command: CommandContext,
): Promise<SlackMessage> {
  return agentsMessage(await agents.runnableBy(command.principal, command.channelId));
}
