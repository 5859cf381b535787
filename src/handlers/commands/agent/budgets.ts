import { adminOnlyMessage } from '../../../blocks/agents.js';
import { budgetsModal } from '../../../blocks/budgets.js';
import { loadingModal, noticeModal, type SlackMessage } from '../../../blocks/messages.js';
import { plainMessage } from '../../../blocks/sessions.js';
import { principalKey } from '../../../identity/principal.js';
import type { BudgetTarget } from '../../../limits/budgets.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';
import { openModalFirst } from './modal-first.js';
import type { BudgetsTarget } from './parse.js';

const TITLE = 'Budgets';

/** `/agent budgets [@person | agent NAME]` (admins): everyone's budgets, or one person's or agent's, in a modal to change. */
export function agentBudgets(
  { budgets, outbox }: Pick<Surfaces, 'budgets' | 'outbox'>,
  command: CommandContext,
  named: BudgetsTarget,
): Promise<SlackMessage | undefined> {
  if (named.kind === 'invalid')
    return Promise.resolve(
      plainMessage(
        'Name whose budgets to change: /agent budgets, /agent budgets @person or /agent budgets agent NAME.',
      ),
    );
  const { target, who } = budgetTarget(command, named);
  return openModalFirst(outbox, command, loadingModal(TITLE), async () => {
    const form = await budgets.forAdmin(command.principal, target, command.correlationId);
    return form ? budgetsModal(form, who) : noticeModal(TITLE, adminOnlyMessage());
  });
}

/** What a modal edits, and how it names it: a person is always of the admin's own workspace. */
export function budgetTarget(
  command: Pick<CommandContext, 'principal'>,
  named: Exclude<BudgetsTarget, { kind: 'invalid' }>,
): { target: BudgetTarget; who: { label: string; userId?: string } } {
  switch (named.kind) {
    case 'defaults':
      return { target: named, who: { label: 'everyone' } };
    case 'agent':
      return { target: named, who: { label: `the ${named.agentName} agent` } };
    case 'person':
      return {
        target: {
          kind: 'person',
          principalKey: principalKey({ ...command.principal, userId: named.userId }),
        },
        who: { label: `<@${named.userId}>`, userId: named.userId },
      };
  }
}
