import { plainText } from '../blocks/messages.js';
import type { Outbox } from '../outbox/outbox.js';

/**
 * The private answer to a click on a message: through the click's response_url, as a new ephemeral
 * message (a click in a modal or on the Home tab has no response_url, and gets no answer here).
 */
export async function answerClick(
  outbox: Outbox,
  body: { response_url?: string },
  text: string,
): Promise<void> {
  if (!body.response_url) return;
  await outbox.respond(body.response_url, plainText(text), { replaceOriginal: false }).catch(() => undefined);
}
