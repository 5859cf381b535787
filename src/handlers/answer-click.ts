import { plainText } from '../blocks/messages.js';
import type { Outbox } from '../outbox/outbox.js';
import { clickedThread } from './clicked-message.js';

/**
 * The private answer to a click on a message, where the click was: in its thread as an ephemeral
 * message (Slack posts a response_url's answer in the channel, never in a thread); else, or when
 * Slack refuses that (the clicker is not in the conversation: a forged click), through the click's
 * response_url. A click in a modal or on the Home tab has neither, and gets no answer here.
 */
export async function answerClick(
  outbox: Outbox,
  body: { response_url?: string; container?: unknown; message?: unknown; user: { id: string } },
  text: string,
): Promise<void> {
  const thread = clickedThread(body);
  if (thread) {
    try {
      await outbox.ephemeral({ ...thread, userId: body.user.id }, plainText(text));
      return;
    } catch {
      // Answered through the response_url below.
    }
  }
  if (!body.response_url) return;
  await outbox.respond(body.response_url, plainText(text), { replaceOriginal: false }).catch(() => undefined);
}
