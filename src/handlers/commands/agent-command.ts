import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { helpMessage, tooLongMessage, unknownSubcommandMessage } from '../../blocks/messages.js';
import { forgetMeConfirmMessage } from '../../blocks/people.js';
import { principalFromCommand } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';
import { failureMessage } from '../listener-failures.js';
import { agentsList } from './agent/agents.js';
import { agentAudit } from './agent/audit.js';
import { agentBudget } from './agent/budget.js';
import { agentBudgets } from './agent/budgets.js';
import { agentConnect } from './agent/connect.js';
import type { CommandContext } from './agent/context.js';
import { agentLimits } from './agent/limits.js';
import { MAX_COMMAND_TEXT, parseAgentCommand } from './agent/parse.js';
import { agentForceReconnect, agentPeople } from './agent/people.js';
import { agentRun } from './agent/run.js';
import { agentServers } from './agent/servers.js';
import { agentSessions } from './agent/sessions.js';
import { agentSetup } from './agent/setup.js';
import { agentStatus } from './agent/status.js';
import { agentUsage } from './agent/usage.js';

/**
 * `/agent <subcommand>`. Answers that need no I/O go in the ack itself; the rest ack at once
 * (Slack's 3-second budget), then answer privately when their work is done, or open a modal.
 */
export function agentCommand(surfaces: Surfaces) {
  return async ({ ack, body, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
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
    const command: CommandContext = {
      principal: principalFromCommand(body),
      correlationId: String(context.correlationId),
      channelId: body.channel_id,
      responseUrl: body.response_url,
      triggerId: body.trigger_id,
    };
    const replyTo = { responseUrl: body.response_url, channelId: body.channel_id, userId: body.user_id };
    try {
      const reply = await (() => {
        switch (subcommand.name) {
          case 'status':
            return agentStatus(surfaces, command);
          case 'connect':
            return agentConnect(surfaces, command);
          case 'agents':
            return agentsList(surfaces, command);
          case 'run':
            return agentRun(surfaces, command, subcommand.rest);
          case 'sessions':
            return agentSessions(surfaces, command);
          case 'servers':
            return agentServers(surfaces, command);
          case 'limits':
            return agentLimits(surfaces, command);
          case 'usage':
            return agentUsage(surfaces, command);
          case 'budgets':
            return agentBudgets(surfaces, command, subcommand.target);
          case 'setup':
            return agentSetup(surfaces, command, subcommand.agentName);
          case 'revoke':
          case 'suspend':
          case 'resume':
            return agentPeople(surfaces, command, subcommand.name, subcommand.userId);
          case 'force_reconnect':
            return agentForceReconnect(surfaces, command, subcommand.connectorId);
          case 'budget':
            return agentBudget(surfaces, command, subcommand.sessionId, subcommand.usd);
          case 'forget_me':
            return forgetMeConfirmMessage(surfaces.privacy.retentionDays);
          case 'audit':
            return agentAudit(surfaces, command, subcommand.query);
        }
      })();
      if (reply) await surfaces.outbox.privately(replyTo, reply);
    } catch (error) {
      surfaces.logger.error(`/agent ${subcommand.name} failed`, {
        error: String(error),
        correlationId: command.correlationId,
      });
      await surfaces.outbox
        .privately(replyTo, failureMessage(error, command.correlationId))
        .catch(() => undefined);
    }
  };
}
