import type { KnownBlock, ModalView, NumberInput } from '@slack/types';
import {
  type Budget,
  type BudgetForm,
  type BudgetReached,
  type BudgetTarget,
  MAX_BUDGET_USD,
  type PersonUsage,
  type UsageLine,
  type UsageOverview,
} from '../limits/budgets.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import { INPUT_ACTION } from './agents.js';
import { context, divider, header, input, section } from './elements.js';
import { plainText, type SlackMessage } from './messages.js';

/** Cents as dollars: `$12.34`. */
export const dollars = (cents: number) =>
  `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

const PERIOD = {
  day: { budget: 'daily', spent: 'today', resets: 'at midnight UTC' },
  month: { budget: 'monthly', spent: 'this month', resets: 'on the 1st (UTC)' },
} as const;

/** What someone is told when a budget is used up (a run, or a reply to a session): the figures, and what happens next. */
export function overBudgetMessage(
  reached: BudgetReached & { agentName: string },
  notDone = 'nothing was started',
): SlackMessage {
  const period = PERIOD[reached.period];
  const figures = `${dollars(reached.spentCents)} spent ${period.spent} of ${dollars(reached.budgetCents)}`;
  const whose =
    reached.scope === 'person'
      ? `You have used your ${period.budget} budget (${figures})`
      : `The ${reached.agentName} agent has used its ${period.budget} budget for everyone (${figures})`;
  return plainText(
    `${whose}, so ${notDone}. It renews ${period.resets}; a Deputy admin can raise it with /agent budgets.`,
  );
}

/** How full a budget is, as a bar Slack shows in any client: 12 cells, filled in proportion. */
export function bar(spentCents: number, ofCents: number): string {
  const cells = 12;
  const filled = ofCents <= 0 ? 0 : Math.min(cells, Math.round((spentCents / ofCents) * cells));
  return `\`${'█'.repeat(filled)}${'░'.repeat(cells - filled)}\``;
}

/** One period of a person's usage: spent, and against their budget where they have one. */
function periodLine(label: string, spentCents: number, budgetCents: number | undefined): string {
  if (budgetCents === undefined) return `*${label}:* ${dollars(spentCents)} (no budget)`;
  const left = Math.max(0, budgetCents - spentCents);
  return `*${label}:* ${bar(spentCents, budgetCents)} ${dollars(spentCents)} of ${dollars(budgetCents)} · ${dollars(left)} left`;
}

/** `/agent usage`: what the person's agents cost them today and this month, against their budget. */
export function usageMessage(usage: PersonUsage): SlackMessage {
  const lines = [
    periodLine('Today', usage.spend.todayCents, usage.budget.dailyCents),
    periodLine('This month', usage.spend.monthCents, usage.budget.monthlyCents),
  ];
  const byAgent = usage.byAgent
    .slice(0, 10)
    .map((a) => `${escapeMrkdwn(a.agentName)} ${dollars(a.monthCents)}`)
    .join(' · ');
  const text = `Your usage: ${dollars(usage.spend.todayCents)} today, ${dollars(usage.spend.monthCents)} this month.`;
  return {
    text,
    blocks: [
      section(lines.join('\n')),
      ...(byAgent ? [section(`*By agent this month:* ${byAgent}`)] : []),
      context(
        'At list price, as Managed Agents reports each session, counted when a turn ends. Days and months are UTC.',
      ),
    ],
  };
}

/** The admins' Home section: the top spenders this week and month, as bars against their monthly budgets. */
export function usageOverviewBlocks(overview: UsageOverview): KnownBlock[] {
  const lines = (title: string, rows: UsageLine[], name: (row: UsageLine) => string) => {
    if (rows.length === 0) return section(`*${title}*\n_Nothing spent this month._`);
    const widest = Math.max(...rows.map((r) => r.monthlyBudgetCents ?? r.monthCents));
    return section(
      [
        `*${title}*`,
        ...rows.map((row) => {
          const of = row.monthlyBudgetCents ?? widest;
          const budget = row.monthlyBudgetCents ? ` of ${dollars(row.monthlyBudgetCents)}` : '';
          return `${bar(row.monthCents, of)} ${name(row)} ${dollars(row.monthCents)}${budget} this month · ${dollars(row.weekCents)} this week`;
        }),
      ].join('\n'),
    );
  };
  return [
    divider(),
    header('Admin: usage'),
    lines('Top people', overview.people, (row) => `<@${row.name}>`),
    lines('Top agents', overview.agents, (row) => `*${escapeMrkdwn(row.name)}*`),
    context(
      `Everyone this month: ${dollars(overview.totalMonthCents)}. Bars are against the monthly budget where there is one, else the largest shown. \`/agent budgets\` sets budgets.`,
    ),
  ];
}

/** The budgets modal's callback id and its inputs' block ids. */
export const BUDGETS_CALLBACK = 'admin_budgets';
export type BudgetField = 'daily' | 'monthly';
export const budgetBlockId = (scope: 'person' | 'agent' | 'own', field: BudgetField) =>
  `budget_${scope}_${field}`;

/** Whose budgets a modal edits, as the admin reads it and (for a person) their Slack user id. */
export interface BudgetsOf {
  label: string;
  userId?: string;
}

/** What the modal carries back: what it edits (a person by user id), and the version it started from (0: none yet). */
function budgetsMetadata(target: BudgetTarget, who: BudgetsOf, version: number | undefined): string {
  const carried =
    target.kind === 'person'
      ? { kind: 'person', userId: who.userId }
      : target.kind === 'agent'
        ? { kind: 'agent', agentName: target.agentName }
        : { kind: 'defaults' };
  return JSON.stringify({ target: carried, version: version ?? 0 });
}

/** `/agent budgets [@person | agent NAME]` (admins): the budgets to change, in dollars; blank is none. */
export function budgetsModal(form: BudgetForm, who: BudgetsOf, notice?: string): ModalView {
  const blocks: KnownBlock[] = [];
  const pair = (scope: 'person' | 'agent' | 'own', budget: Budget, label: string, fallback?: Budget) =>
    (['daily', 'monthly'] as const).map((field) => {
      const inherited = fallback?.[`${field}Cents`];
      return input(
        budgetBlockId(scope, field),
        `${label} ${field === 'daily' ? 'per day' : 'per month'} (US$)`,
        dollarInput(budget[`${field}Cents`]),
        true,
        fallback
          ? inherited === undefined
            ? 'Blank: no budget (nobody set a default).'
            : `Blank: the default for everyone, ${dollars(inherited)}.`
          : 'Blank: no budget.',
      );
    });
  if (form.target.kind === 'defaults') {
    const values = form.values as { person: Budget; agent: Budget };
    blocks.push(
      section(
        'Budgets everyone has unless you set their own: each person, and each agent (all its sessions together). A run is refused once one is used up, and a session stops where the tightest one ends.',
      ),
      ...(notice ? [section(notice)] : []),
      ...pair('person', values.person, 'Each person'),
      ...pair('agent', values.agent, 'Each agent'),
    );
  } else {
    const fallback = form.target.kind === 'person' ? form.defaults.person : form.defaults.agent;
    blocks.push(
      section(`Budgets of ${who.label} alone, replacing the default for everyone.`),
      ...(notice ? [section(notice)] : []),
      ...pair(
        'own',
        form.values as Budget,
        form.target.kind === 'person' ? 'Spend' : 'All sessions',
        fallback,
      ),
    );
  }
  blocks.push(context(form.version ? `Set by an admin (version ${form.version}).` : 'Not set yet.'));
  return {
    type: 'modal',
    callback_id: BUDGETS_CALLBACK,
    title: { type: 'plain_text', text: 'Budgets' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: budgetsMetadata(form.target, who, form.version),
    blocks,
  };
}

/** What an admin is told once a budget is saved. */
export function budgetsSavedMessage(form: BudgetForm, who: BudgetsOf): SlackMessage {
  const show = (budget: Budget) =>
    `${budget.dailyCents === undefined ? 'none' : dollars(budget.dailyCents)} a day, ${budget.monthlyCents === undefined ? 'none' : dollars(budget.monthlyCents)} a month`;
  if (form.target.kind === 'defaults') {
    const values = form.values as { person: Budget; agent: Budget };
    return plainText(
      `Budgets saved. Each person: ${show(values.person)}. Each agent: ${show(values.agent)}.`,
    );
  }
  return plainText(
    `Budget of ${who.label} saved: ${show(form.values as Budget)} (blank ones follow the default).`,
  );
}

/** Dollars with cents, from $0.01 to MAX_BUDGET_USD, shown with the value now (none: blank). */
function dollarInput(cents: number | undefined): NumberInput {
  return {
    type: 'number_input',
    action_id: INPUT_ACTION,
    is_decimal_allowed: true,
    min_value: '0.01',
    max_value: String(MAX_BUDGET_USD),
    ...(cents !== undefined ? { initial_value: (cents / 100).toFixed(2) } : {}),
  };
}
