import { connectMessage } from '../../../blocks/connections.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import { standingRefusedMessage } from '../../../blocks/sessions.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent connect`: every connector with the caller's state and one button each. */
export async function agentConnect(
  { connections }: Pick<Surfaces, 'connections'>,
  command: CommandContext,
): Promise<SlackMessage> {
  const overview = await connections.connectOverview(
    command.principal,
    command.responseUrl,
    command.correlationId,
  );
  return 'refused' in overview ? standingRefusedMessage(overview.refused) : connectMessage(overview);
}
