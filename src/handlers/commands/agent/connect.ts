import type { SlackMessage } from '../../../blocks/messages.js';
import type { Principal } from '../../../identity/principal.js';
import type { Services } from '../../../services.js';

/**
 * `/agent connect`: every connector with the caller's state and one button each. The caller's vault
 * is made ready first (connections live in it), and OAuth connections are checked with Anthropic so
 * a dead one shows "Reconnect".
 */
export async function agentConnect(
  services: Services,
  principal: Principal,
  responseUrl: string,
  correlationId: string,
): Promise<SlackMessage> {
  await services.vaults.ensure(principal, correlationId);
  await services.connections.checkConnections(principal, correlationId);
  return services.notices.connectMessage(principal, responseUrl);
}
