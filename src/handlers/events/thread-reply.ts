import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { AuditAction } from '../../audit/audit-log.js';
import { principalFromEvent } from '../../identity/principal.js';
import type { Services } from '../../services.js';

/**
 * A reply in a session's thread (the owner's DM, or a shared result in a channel) is a follow-up
 * for the agent when its owner writes it; anyone else gets a private refusal and nothing is sent.
 */
export function threadReply(services: Services) {
  return async ({ body, event }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    if (!('thread_ts' in event) || !event.thread_ts || 'bot_id' in event || event.subtype !== undefined)
      return;
    const session = await services.store.sessions.byThread(event.channel, event.thread_ts);
    const principal = principalFromEvent(body);
    if (!session || !principal) return;
    const text = 'text' in event && typeof event.text === 'string' ? event.text.slice(0, 10_000) : '';
    if (principal.userId !== session.principal.userId || principal.teamId !== session.principal.teamId) {
      await services.audit.record({
        action: AuditAction.SessionSteerRefused,
        outcome: 'refused',
        principal,
        target: session.sessionId,
        correlationId: services.ids.next('req'),
      });
      await services.slack.chat
        .postEphemeral({
          channel: event.channel,
          user: principal.userId,
          thread_ts: event.thread_ts,
          text: `Only <@${session.principal.userId}> can steer this agent; your reply was not sent to it.`,
        })
        .catch(() => undefined);
      return;
    }
    if (!text) return;
    await services.anthropic.beta.sessions.events.send(session.sessionId, {
      events: [{ type: 'user.message', content: [{ type: 'text', text }] }],
    });
    services.relays.ensure(session.sessionId);
  };
}
