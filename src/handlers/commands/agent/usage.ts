import { usageMessage } from '../../../blocks/budgets.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent usage`: what the person's agents cost them today and this month, and what their budget leaves. */
export async function agentUsage(
  { budgets }: Pick<Surfaces, 'budgets'>,
  command: CommandContext,
): Promise<SlackMessage> {
  return usageMessage(await budgets.usageOf(command.principal));
}
