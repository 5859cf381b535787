import { overBudgetMessage } from '../../../blocks/budgets.js';
import { rateLimitedMessage, tooManyLiveMessage } from '../../../blocks/limits.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import {
  missingConnectionsMessage,
  plainMessage,
  sessionStartedMessage,
  standingRefusedMessage,
} from '../../../blocks/sessions.js';
import { isDirectMessage } from '../../../outbox/outbox.js';
import type { RunOutcome, StartedSession } from '../../../sessions/session-service.js';
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
  if (outcome.kind !== 'started')
    return runAnswer(outcome, 'Tell the agent what to do: /agent run [--agent NAME] PROMPT');
  // Told first; the session's thread opens right after (nothing else delays this answer), and the
  // answer then links to it.
  const started = outcome.session;
  try {
    await outbox.privately(
      { responseUrl: command.responseUrl, channelId: command.channelId, userId: command.principal.userId },
      startedMessage(started),
    );
  } finally {
    started.open(async (session) => {
      if (session.permalink)
        await outbox.respond(command.responseUrl, startedMessage(started, session.permalink), {
          replaceOriginal: true,
        });
    });
  }
  return undefined;
}

/**
 * A run asked for from a modal (nowhere to answer in place): started, its thread in the person's DM
 * is where they are told; otherwise why not, by DM.
 */
export async function answerRunByDm(
  outbox: Pick<Surfaces['outbox'], 'toPerson'>,
  userId: string,
  outcome: RunOutcome,
  noPrompt: string,
): Promise<void> {
  if (outcome.kind === 'started') return outcome.session.open();
  const answer = runAnswer(outcome, noPrompt);
  if (answer) await outbox.toPerson(userId, answer).catch(() => undefined);
}

/** What a person is told of a run that did not start (or is already starting): why, and what to do. */
export function runAnswer(
  outcome: Exclude<RunOutcome, { kind: 'started' }>,
  noPrompt: string,
): SlackMessage | undefined {
  switch (outcome.kind) {
    case 'refused':
      return standingRefusedMessage(outcome.refusal);
    case 'no_prompt':
      return plainMessage(noPrompt);
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
    case 'context_not_readable':
      return plainMessage(
        'You cannot read that conversation in Slack, so Deputy read nothing of it and started nothing.',
      );
    case 'rate_limited':
      return rateLimitedMessage(outcome.limited);
    case 'too_many_live':
      return tooManyLiveMessage(outcome);
    case 'over_budget':
      return overBudgetMessage(outcome.reached);
    case 'needs_connections':
      return missingConnectionsMessage(
        outcome.agentName,
        outcome.missing.map(({ connector, link }) => ({
          id: connector.id,
          name: connector.name,
          ...(link ? { link } : {}),
        })),
        outcome.intentId,
      );
    case 'recovered':
      return plainMessage(
        `Starting ${outcome.agentName} was interrupted, and Deputy finished it separately: your DM with me shows the session, or says it did not start.`,
      );
  }
}

/** A run that started: where to follow it (a link to its thread, once it has one). */
export function startedMessage(
  session: Pick<StartedSession, 'agentName' | 'channelId'>,
  permalink?: string,
): SlackMessage {
  return sessionStartedMessage(session.agentName, {
    inDirectMessage: isDirectMessage(session.channelId),
    ...(permalink ? { permalink } : {}),
  });
}
