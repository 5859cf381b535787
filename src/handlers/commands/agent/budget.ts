import type { SlackMessage } from '../../../blocks/messages.js';
import { raiseCeilingMessage, raiseCeilingUsageMessage } from '../../../blocks/sessions.js';
import { MAX_CEILING_USD } from '../../../sessions/session-service.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent budget SESSION_ID USD` (admins): raises a session's spend ceiling so its owner can go on. */
export async function agentBudget(
  { sessions }: Pick<Surfaces, 'sessions'>,
  command: CommandContext,
  sessionId: string | undefined,
  usd: number | undefined,
): Promise<SlackMessage> {
  if (!sessionId || usd === undefined) return raiseCeilingUsageMessage(MAX_CEILING_USD);
  return raiseCeilingMessage(
    await sessions.raiseCeiling(command.principal, sessionId, usd, command.correlationId),
  );
}
