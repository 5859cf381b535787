import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { adminOnlyMessage, serversModal, setupBasicsModal } from '../../blocks/agents.js';
import { escapeMrkdwn, section } from '../../blocks/elements.js';
import {
  errorMessage,
  helpMessage,
  type SlackMessage,
  tooLongMessage,
  unknownSubcommandMessage,
} from '../../blocks/messages.js';
import { principalFromCommand } from '../../identity/principal.js';
import type { Services } from '../../services.js';
import { isAdmin } from '../admin-guard.js';
import { replyPrivately } from '../reply.js';
import { serverEntries } from './agent/admin-views.js';
import { agentsList } from './agent/agents.js';
import { agentConnect } from './agent/connect.js';
import { MAX_COMMAND_TEXT, parseAgentCommand } from './agent/parse.js';
import { agentRun } from './agent/run.js';
import { agentSessions } from './agent/sessions.js';
import { agentStatus } from './agent/status.js';

/**
 * `/agent <subcommand>`. Answers that need no I/O go in the ack itself; the rest ack at once
 * (Slack's 3-second budget) and reply through the response_url when their work is done.
 * Every reply is ephemeral.
 */
export function agentCommand(services: Services) {
  return async ({ ack, body, respond, client, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    const subcommand = parseAgentCommand(body.text);
    switch (subcommand.name) {
      case 'help':
        return ack({ response_type: 'ephemeral', ...helpMessage() });
      case 'unknown':
        return ack({ response_type: 'ephemeral', ...unknownSubcommandMessage(subcommand.word) });
      case 'too_long':
        return ack({ response_type: 'ephemeral', ...tooLongMessage(subcommand.length, MAX_COMMAND_TEXT) });
      default:
        break;
    }
    await ack();
    const correlationId = String(context.correlationId);
    const principal = principalFromCommand(body);
    const target = {
      respond,
      client,
      channelId: body.channel_id,
      userId: body.user_id,
      logger: services.logger,
    };
    try {
      const reply = await (async (): Promise<SlackMessage | undefined> => {
        switch (subcommand.name) {
          case 'status':
            return agentStatus(services, principal, correlationId);
          case 'connect':
            return agentConnect(services, principal, body.response_url, correlationId);
          case 'agents':
            return agentsList(services, principal, body.channel_id);
          case 'run':
            return agentRun(
              services,
              principal,
              { text: subcommand.rest, channelId: body.channel_id, triggerId: body.trigger_id },
              correlationId,
            );
          case 'sessions':
            return agentSessions(services, principal);
          case 'servers':
          case 'setup': {
            if (!(await isAdmin(services, principal, `/agent ${subcommand.name}`, correlationId)))
              return adminOnlyMessage();
            const view =
              subcommand.name === 'servers'
                ? serversModal(await serverEntries(services))
                : await setupModal(services, subcommand.agentName);
            if ('text' in view) return view;
            await client.views.open({ trigger_id: body.trigger_id, view });
            return undefined;
          }
        }
      })();
      if (reply) await replyPrivately(target, reply);
    } catch (error) {
      services.logger.error(`/agent ${subcommand.name} failed`, { error: String(error), correlationId });
      await replyPrivately(target, errorMessage(correlationId)).catch(() => undefined);
    }
  };
}

/** The first step of `/agent setup`, or a message when the named agent does not exist. */
async function setupModal(services: Services, agentName: string | undefined) {
  const servers = await services.connections.catalog();
  if (!agentName) return setupBasicsModal(servers);
  const agent = await services.agents.get(agentName.toLowerCase());
  if (agent) return setupBasicsModal(servers, { agent });
  const text = `There is no agent named \`${escapeMrkdwn(agentName.slice(0, 40))}\`. Use \`/agent setup\` to create one.`;
  return { text, blocks: [section(text)] } satisfies SlackMessage;
}
