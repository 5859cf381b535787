import type { ModalView } from '@slack/types';
import {
  errorMessage,
  formTimedOutMessage,
  noticeModal,
  type SlackMessage,
} from '../../../blocks/messages.js';
import type { Outbox } from '../../../outbox/outbox.js';
import type { CommandContext } from './context.js';

/**
 * Opens `loading` on the command's trigger before any other work (Slack takes a trigger once, and
 * only for 3 seconds), then fills the modal with what `content` finds: the admin check, the store
 * reads and Slack's own answers no longer count against the trigger's life. A delivery of the same
 * command again finds its trigger taken, and leaves the first one's modal to it.
 */
export async function openModalFirst(
  outbox: Pick<Outbox, 'openView' | 'updateView'>,
  command: Pick<CommandContext, 'triggerId' | 'correlationId'>,
  loading: ModalView,
  content: () => Promise<ModalView>,
): Promise<SlackMessage | undefined> {
  const opened = await outbox.openView(command.triggerId, loading);
  if (opened.kind === 'trigger_expired') return formTimedOutMessage();
  if (opened.kind === 'trigger_used') return undefined;
  let filled: ModalView;
  try {
    filled = await content();
  } catch (error) {
    // Not left loading: the modal says what the private answer says (the command's listener logs it).
    await outbox
      .updateView(opened.viewId, noticeModal(loading.title.text, errorMessage(command.correlationId)))
      .catch(() => undefined);
    throw error;
  }
  await outbox.updateView(opened.viewId, filled);
  return undefined;
}
