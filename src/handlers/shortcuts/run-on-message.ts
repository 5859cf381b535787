import type { AllMiddlewareArgs, MessageShortcut, SlackShortcutMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { loadingModal, noticeModal } from '../../blocks/messages.js';
import { plainMessage, runOnMessageModal, standingRefusedMessage } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { openModalFirst } from '../commands/agent/modal-first.js';
import type { Surfaces } from '../index.js';

const TITLE = 'Run an agent';

/** The message a shortcut was used on, as Slack sends it: its time, its author (a person, or none for an app's), its text. */
const shortcutMessage = z.object({
  channel: z.object({ id: z.string() }),
  message: z.looseObject({
    ts: z.string(),
    user: z.string().optional(),
    text: z.string().max(40_000).optional(),
  }),
});

/**
 * "Run an agent on this message" (a message shortcut): a modal opens at once to pick the agent and
 * say what to do; the message Slack sent is kept for the run (`SessionService.beginMessageRun`).
 */
export function runOnMessage({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({ ack, body, context }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs) => {
    await ack();
    const principal = principalFromInteraction(body);
    const correlationId = String(context.correlationId);
    await openModalFirst(
      outbox,
      { triggerId: body.trigger_id, correlationId },
      loadingModal(TITLE),
      async () => {
        const parsed = shortcutMessage.safeParse(body);
        if (!parsed.success)
          return noticeModal(TITLE, plainMessage('Slack sent no message to run an agent on.'));
        const { channel, message } = parsed.data;
        const begun = await sessions.beginMessageRun(principal, {
          channelId: channel.id,
          message: {
            ts: message.ts,
            text: message.text ?? '',
            ...(message.user ? { userId: message.user } : {}),
          },
        });
        switch (begun.kind) {
          case 'refused':
            return noticeModal(TITLE, standingRefusedMessage(begun.refusal));
          case 'no_agents':
            return noticeModal(TITLE, plainMessage('There is no agent you may run here.'));
          case 'ready':
            return runOnMessageModal(begun.agents, begun.pendingId);
        }
      },
    );
  };
}
