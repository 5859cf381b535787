import type { SlackMessage } from '../../../blocks/messages.js';
import { recentSessionsMessage } from '../../../blocks/sessions.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent sessions`: the caller's recent sessions, newest first. */
export async function agentSessions(
  { sessions }: Pick<Surfaces, 'sessions'>,
  command: CommandContext,
): Promise<SlackMessage> {
  return recentSessionsMessage(await sessions.recent(command.principal));
}
