import { overBudgetMessage } from '../../../blocks/budgets.js';
import { rateLimitedMessage, tooManyLiveMessage } from '../../../blocks/limits.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import { missingConnectionsMessage, plainMessage, standingRefusedMessage } from '../../../blocks/sessions.js';
import { isDirectMessage } from '../../../outbox/outbox.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent run [--agent NAME] PROMPT`: what the person sees right after the ack. */
export async function agentRun(
  { sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>,
  command: CommandContext,
  text: string,
): Promise<SlackMessage | undefined> {
  const outcome = await sessions.run(
    command.principal,
    { text, channelId: command.channelId, dedupeKey: command.triggerId },
    command.correlationId,
  );
  switch (outcome.kind) {
    case 'refused':
      return standingRefusedMessage(outcome.refusal);
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
    case 'rate_limited':
      return rateLimitedMessage(outcome.limited);
    case 'too_many_live':
      return tooManyLiveMessage(outcome);
    case 'over_budget':
      return overBudgetMessage(outcome.reached);
    case 'needs_connections':
      return missingConnectionsMessage(
        outcome.agentName,
        outcome.missing.map(({ connector, link }) => ({ name: connector.name, ...(link ? { link } : {}) })),
        outcome.intentId,
      );
    case 'recovered':
      return plainMessage(
        `Starting ${outcome.agentName} was interrupted, and Deputy finished it separately: your DM with me shows the session, or says it did not start.`,
      );
    case 'started':
      // Told first; the session's thread opens right after (nothing else delays this answer).
      try {
        await outbox.privately(
          {
            responseUrl: command.responseUrl,
            channelId: command.channelId,
            userId: command.principal.userId,
          },
          plainMessage(
            isDirectMessage(outcome.session.channelId)
              ? `Started ${outcome.session.agentName}; follow along in the thread.`
              : `Started ${outcome.session.agentName}. Follow along in your DM with me; the result can be shared here when it is done.`,
          ),
        );
      } finally {
        outcome.session.open();
      }
      return undefined;
  }
}
