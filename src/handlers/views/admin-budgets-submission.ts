import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { type BudgetField, budgetBlockId, budgetsModal, budgetsSavedMessage } from '../../blocks/budgets.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { type Budget, type BudgetDefaults, MAX_BUDGET_USD } from '../../limits/budgets.js';
import { budgetTarget } from '../commands/agent/budgets.js';
import type { Surfaces } from '../index.js';
import { privateMetadata, ViewState } from '../view-state.js';

/** What the modal carries: whose budgets (a person by user id, in the submitter's workspace) and the version edited (0: none). */
const metadataSchema = z.object({
  target: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('defaults') }),
    z.object({ kind: z.literal('person'), userId: z.string().regex(/^[UW][A-Z0-9_]{2,40}$/) }),
    z.object({ kind: z.literal('agent'), agentName: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/) }),
  ]),
  version: z.number().int().nonnegative(),
});

/** Dollars as typed: blank (no budget), or an amount with at most two decimals within bounds; else invalid. */
function cents(text: string): number | undefined | 'invalid' {
  if (!text) return undefined;
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(text)) return 'invalid';
  const value = Math.round(Number(text) * 100);
  return value >= 1 && value <= MAX_BUDGET_USD * 100 ? value : 'invalid';
}

/** `/agent budgets` → Save: an admin's budgets, written only over the version they edited. */
export function adminBudgetsSubmission({ budgets, outbox }: Pick<Surfaces, 'budgets' | 'outbox'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const admin = principalFromInteraction(body);
    const state = new ViewState(view.state.values);
    const metadata = privateMetadata(metadataSchema, view.private_metadata);
    const scopes = metadata?.target.kind === 'defaults' ? (['person', 'agent'] as const) : (['own'] as const);
    // An error goes on a block the modal has (unknown when its metadata does not read).
    const first = metadata
      ? budgetBlockId(scopes[0], 'daily')
      : (Object.keys(view.state.values)[0] ?? budgetBlockId('own', 'daily'));
    if (!metadata)
      return ack({
        response_action: 'errors',
        errors: { [first]: 'This form is out of date; open /agent budgets again.' },
      });
    const errors: Record<string, string> = {};
    const read = (scope: (typeof scopes)[number]): Budget => {
      const budget: Budget = {};
      for (const field of ['daily', 'monthly'] as BudgetField[]) {
        const blockId = budgetBlockId(scope, field);
        const value = cents(state.text(blockId));
        if (value === 'invalid')
          errors[blockId] =
            `Dollars and cents from 0.01 to ${MAX_BUDGET_USD.toLocaleString('en-US')}, or blank.`;
        else if (value !== undefined) budget[`${field}Cents`] = value;
      }
      return budget;
    };
    const values: Budget | BudgetDefaults =
      metadata.target.kind === 'defaults' ? { person: read('person'), agent: read('agent') } : read('own');
    if (Object.keys(errors).length > 0) return ack({ response_action: 'errors', errors });
    const { target, who } = budgetTarget({ principal: admin }, metadata.target);
    const outcome = await budgets.set(
      admin,
      target,
      values,
      metadata.version === 0 ? undefined : metadata.version,
      String(context.correlationId),
    );
    switch (outcome.kind) {
      case 'not_admin':
        return ack({
          response_action: 'errors',
          errors: { [first]: 'Only Deputy admins can change budgets. Nothing was changed.' },
        });
      case 'invalid':
        return ack({
          response_action: 'errors',
          errors: { [first]: 'Each budget must be blank or from $0.01 up. Nothing was changed.' },
        });
      case 'conflict':
        return ack({
          response_action: 'update',
          view: budgetsModal(
            outcome.form,
            who,
            'Another admin changed these budgets while you were editing; these are theirs. Change them again if you need to.',
          ),
        });
      case 'saved':
        await ack();
        await outbox.toPerson(admin.userId, budgetsSavedMessage(outcome.form, who)).catch(() => undefined);
        return;
    }
  };
}
