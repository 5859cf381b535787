import { adminOnlyMessage } from '../../../blocks/agents.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import {
  adminActMessage,
  forceReconnectMessage,
  nameConnectorMessage,
  nameSomeoneMessage,
} from '../../../blocks/people.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent revoke|suspend|resume @person` (admins): the kill switch, acting at once. */
export async function agentPeople(
  { people }: Pick<Surfaces, 'people'>,
  command: CommandContext,
  act: 'revoke' | 'suspend' | 'resume',
  userId: string | undefined,
): Promise<SlackMessage> {
  if (!userId) return nameSomeoneMessage(act);
  // The person is in the admin's own workspace (and org): the command names only a user.
  const person = { ...command.principal, userId };
  const outcome = await people[act](command.principal, person, command.correlationId);
  return outcome.kind === 'not_admin' ? adminOnlyMessage() : adminActMessage(userId, outcome);
}

/** `/agent force-reconnect CONNECTOR` (admins): everyone connected to it must connect again. */
export async function agentForceReconnect(
  { people }: Pick<Surfaces, 'people'>,
  command: CommandContext,
  connectorId: string | undefined,
): Promise<SlackMessage> {
  if (!connectorId) return nameConnectorMessage();
  const outcome = await people.forceReconnect(command.principal, connectorId, command.correlationId);
  return outcome.kind === 'not_admin' ? adminOnlyMessage() : forceReconnectMessage(connectorId, outcome);
}
