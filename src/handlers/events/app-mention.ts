import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { principalFromEvent } from '../../identity/principal.js';
import { runAnswer, startedMessage } from '../commands/agent/run.js';
import type { Surfaces } from '../index.js';

/**
 * `@Deputy summarise this thread`: a run as the person who mentioned Deputy, the mention's text its
 * prompt (`--agent NAME` as in /agent run) and, in a thread, the thread's messages before it as
 * context, as far as that person can read them. The answer goes to their DM thread; in the channel
 * only they see the reply. A mention in a session's own thread is a follow-up (the message event's).
 */
export function appMention({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({ body, event, context }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs) => {
    const principal = principalFromEvent(body);
    if (!principal || !event.ts) return;
    const threadTs = event.thread_ts;
    if (threadTs && (await sessions.ownsThread(event.channel, threadTs))) return;
    const bot = typeof context.botUserId === 'string' ? context.botUserId : undefined;
    const text = (bot ? event.text.split(`<@${bot}>`).join(' ') : event.text.replace(/^\s*<@[A-Z0-9]+>/, ''))
      .replace(/\s+/g, ' ')
      .trim();
    const outcome = await sessions.run(
      principal,
      {
        text,
        channelId: event.channel,
        // The mention's own message: Slack's retries of it, and its message event, are one run.
        dedupeKey: `mention:${event.channel}:${event.ts}`,
        ...(threadTs
          ? { context: { kind: 'thread' as const, channelId: event.channel, threadTs, before: event.ts } }
          : {}),
      },
      String(context.correlationId),
    );
    const to = { channelId: event.channel, userId: principal.userId, threadTs: threadTs ?? event.ts };
    if (outcome.kind !== 'started') {
      const answer = runAnswer(
        outcome,
        'Tell the agent what to do after the mention: @Deputy summarise this thread',
      );
      // Privately: in the channel, or (someone not in it) by DM.
      if (answer) await outbox.privately(to, answer).catch(() => undefined);
      return;
    }
    // Nobody waits on an event's answer: the person is told once the thread exists, with a link to
    // it (an ephemeral message cannot be edited later, as /agent run's answer is).
    const started = outcome.session;
    started.open(async (session) => {
      await outbox.privately(to, startedMessage(started, session.permalink)).catch(() => undefined);
    });
  };
}
