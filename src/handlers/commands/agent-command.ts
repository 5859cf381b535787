import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import {
  errorMessage,
  helpMessage,
  tooLongMessage,
  unknownSubcommandMessage,
} from '../../blocks/messages.js';
import { principalFromCommand } from '../../identity/principal.js';
import type { Services } from '../../services.js';
import { replyPrivately } from '../reply.js';
import { agentConnect } from './agent/connect.js';
import { MAX_COMMAND_TEXT, parseAgentCommand } from './agent/parse.js';
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
      case 'status':
      case 'connect':
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
      const reply =
        subcommand.name === 'status'
          ? await agentStatus(services, principal, correlationId)
          : await agentConnect(services, principal, body.response_url, correlationId);
      await replyPrivately(target, reply);
    } catch (error) {
      services.logger.error(`/agent ${subcommand.name} failed`, { error: String(error), correlationId });
      await replyPrivately(target, errorMessage(correlationId)).catch(() => undefined);
    }
  };
}
