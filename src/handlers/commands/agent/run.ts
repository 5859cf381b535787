import type { SlackMessage } from '../../../blocks/messages.js';
import { missingConnectionsMessage, plainMessage } from '../../../blocks/sessions.js';
import type { Principal } from '../../../identity/principal.js';
import type { Services } from '../../../services.js';

/** `/agent run [--agent NAME] PROMPT`: what the person sees right after the ack. */
export async function agentRun(
  services: Services,
  principal: Principal,
  request: { text: string; channelId: string; triggerId: string },
  correlationId: string,
): Promise<SlackMessage | undefined> {
  const outcome = await services.sessions.run(
    principal,
    { text: request.text, channelId: request.channelId, dedupeKey: request.triggerId },
    correlationId,
  );
  switch (outcome.kind) {
    case 'no_prompt':
      return plainMessage('Tell the agent what to do: /agent run [--agent NAME] PROMPT');
    case 'no_agent':
      return plainMessage(
        outcome.name
          ? `There is no agent named ${outcome.name}. /agent agents lists the ones you can run.`
          : 'Name an agent with --agent NAME; /agent agents lists the ones you can run.',
      );
    case 'not_allowed':
      return plainMessage(`You may not run ${outcome.name} here. /agent agents lists the ones you can.`);
    case 'duplicate':
      return undefined;
    case 'needs_connections': {
      const missing = await Promise.all(
        outcome.missing.map(async (connector) => ({
          name: connector.name,
          ...(connector.auth.type === 'static_token'
            ? {}
            : { link: await services.connections.mintLink(principal, connector.id) }),
        })),
      );
      return missingConnectionsMessage(outcome.agentName, missing, outcome.intentId);
    }
    case 'started':
      return plainMessage(
        outcome.session.channelId.startsWith('D')
          ? `Started ${outcome.session.agentName}; follow along in the thread.`
          : `Started ${outcome.session.agentName}. Follow along in your DM with me; the result can be shared here when it is done.`,
      );
  }
}
