import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { AuditAction } from '../../audit/audit-log.js';
import { escapeMrkdwn, section } from '../../blocks/elements.js';
import { SessionActions } from '../../blocks/sessions.js';
import { principalFromInteraction, principalKey } from '../../identity/principal.js';
import type { Services } from '../../services.js';

/** Stop, Share to channel, Run without them: only the session's (or intent's) own person. */
export function sessionControls(services: Services) {
  return async ({
    ack,
    body,
    action,
    respond,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const correlationId = String(context.correlationId);
    const clicker = principalFromInteraction(body);
    const say = (text: string) =>
      respond({ response_type: 'ephemeral', replace_original: false, text }).catch(() => undefined);
    const value = action.value ?? '';
    if (action.action_id === SessionActions.RunWithout) {
      const session = await services.sessions.runWithout(clicker, value, correlationId);
      await say(
        session
          ? `Started ${session.agentName} without them. Follow along in your DM with me.`
          : 'That run was already started, or is not yours.',
      );
      return;
    }
    const session = await services.store.sessions.get(value);
    if (!session || principalKey(clicker) !== session.principalKey) {
      await services.audit.record({
        action: AuditAction.SessionSteerRefused,
        outcome: 'refused',
        principal: clicker,
        target: value,
        correlationId,
      });
      await say('Only the person who started this session can do that. Nothing was changed.');
      return;
    }
    if (action.action_id === SessionActions.Stop) {
      await services.anthropic.beta.sessions.events.send(session.sessionId, {
        events: [{ type: 'user.interrupt' }],
      });
      await say('Stopping the agent.');
      return;
    }
    // Share: the result goes to the channel it was run in, on the owner's explicit click.
    const posted = await services.slack.chat.postMessage({
      channel: session.channelId,
      text: `<@${session.principal.userId}> shared a result from ${session.agentName}`,
      blocks: [
        section(
          `<@${session.principal.userId}> shared a result from *${escapeMrkdwn(session.agentName)}*:\n${escapeMrkdwn(session.resultText ?? '(no text)')}`,
        ),
      ],
    });
    if (posted.ts) {
      await services.store.sessions.update(session.sessionId, { sharedTs: posted.ts });
      await services.store.sessions.indexThread(session.channelId, posted.ts, session.sessionId);
    }
    await say('Shared.');
  };
}
