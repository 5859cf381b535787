import { z } from 'zod';
import type { MessageRef } from '../sessions/notices.js';

const messageContainer = z.object({
  type: z.literal('message'),
  channel_id: z.string().min(1),
  message_ts: z.string().min(1),
});

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
