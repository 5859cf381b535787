import { type SlackMessage, statusMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent status`: who the caller is to Deputy, their vault (created on first need) and its connections. */
export async function agentStatus(
  { vaults }: Pick<Surfaces, 'vaults'>,
  command: CommandContext,
): Promise<SlackMessage> {
  const status = await vaults.status(command.principal, command.correlationId);
  return statusMessage({ principal: command.principal, ...status });
}
