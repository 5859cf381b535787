import { z } from 'zod';
import type { MessageRef } from '../sessions/notices.js';

const messageContainer = z.object({
  type: z.literal('message'),
  channel_id: z.string().min(1),
  message_ts: z.string().min(1),
  /** Set when the message is in a thread, or is a thread's parent. */
  thread_ts: z.string().min(1).optional(),
});
const threadedMessage = z.object({ thread_ts: z.string().min(1) });

/**
 * The message a click came from, as the signed payload's `container` names it; undefined for a
 * click on anything else (a modal, the Home tab).
 */
export function clickedMessage(body: { container?: unknown }): MessageRef | undefined {
  const container = messageContainer.safeParse(body.container);
  return container.success
    ? { channelId: container.data.channel_id, messageTs: container.data.message_ts }
    : undefined;
}

/**
 * The thread a click came from (the clicked message's own, or the one it starts), so an answer can
 * go there; undefined for a message outside any thread, or a click on anything else.
 */
export function clickedThread(body: {
  container?: unknown;
  message?: unknown;
}): { channelId: string; threadTs: string } | undefined {
  const container = messageContainer.safeParse(body.container);
  if (!container.success) return undefined;
  const threadTs = container.data.thread_ts ?? threadedMessage.safeParse(body.message).data?.thread_ts;
  return threadTs ? { channelId: container.data.channel_id, threadTs } : undefined;
}
