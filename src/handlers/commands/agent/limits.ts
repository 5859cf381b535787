import { adminOnlyMessage } from '../../../blocks/agents.js';
import { limitsModal } from '../../../blocks/limits.js';
import { loadingModal, noticeModal, type SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';
import { openModalFirst } from './modal-first.js';

const TITLE = 'Rate limits';

/** `/agent limits` (admins): the per-person rate limits in a modal, to change. */
export function agentLimits(
  { limits, outbox }: Pick<Surfaces, 'limits' | 'outbox'>,
  command: CommandContext,
): Promise<SlackMessage | undefined> {
  return openModalFirst(outbox, command, loadingModal(TITLE), async () => {
    const current = await limits.forAdmin(command.principal, command.correlationId);
    return current ? limitsModal(current) : noticeModal(TITLE, adminOnlyMessage());
  });
}
