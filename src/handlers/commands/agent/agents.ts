import { agentsMessage } from '../../../blocks/agents.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import type { Principal } from '../../../identity/principal.js';
import type { Services } from '../../../services.js';

/** `/agent agents`: the agents this person may run here, with their servers and each tool's setting. */
export async function agentsList(
  services: Services,
  principal: Principal,
  channelId: string,
): Promise<SlackMessage> {
  const agents = await services.agents.list();
  const runnable = [];
  for (const agent of agents) {
    if (await services.agents.mayRun(agent, principal, channelId)) {
      runnable.push({ agent, status: await services.agents.status(agent) });
    }
  }
  return agentsMessage(runnable);
}
