import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { AdminCheck } from '../audit/audit-trail.js';
import type { Clock } from '../clock.js';
import { type Principal, principalKey } from '../identity/principal.js';
import {
  type Budget,
  type BudgetDefaults,
  type BudgetSubject,
  budgetSchema,
  type Store,
  type StoredBudget,
  type UsageEntry,
} from '../store/index.js';
import { ShortLived } from '../store/short-lived.js';

export type { Budget, BudgetDefaults, BudgetSubject } from '../store/index.js';

/** The most an admin may set a budget to, in US dollars (per day or per month). */
export const MAX_BUDGET_USD = 1_000_000;

/** How long everyone's default budgets are trusted before they are read again (as the rate limits). */
const DEFAULTS_CACHE_MS = 10_000;
/**
 * How long an agent's spend is taken as read: it sums every session of the agent this month, and
 * every run of it asks. Starts within this may each see the spend before the others' cost.
 */
const AGENT_SPEND_CACHE_MS = 10_000;
/** How long the admins' usage chart is shown as read: it reads the whole month, and Home opens often. */
const OVERVIEW_CACHE_MS = 60_000;

const DAY_MS = 24 * 60 * 60 * 1000;

/** A UTC day as the ledger keys it: `YYYY-MM-DD`. */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The periods usage is shown for, as days from the first to the last (both included). */
export interface Periods {
  today: string;
  /** Monday of this week (UTC) to today. */
  weekFrom: string;
  /** The first of this month (UTC) to today. */
  monthFrom: string;
}

export function periodsAt(nowMs: number): Periods {
  const today = utcDay(nowMs);
  const weekday = (new Date(nowMs).getUTCDay() + 6) % 7;
  return { today, weekFrom: utcDay(nowMs - weekday * DAY_MS), monthFrom: `${today.slice(0, 7)}-01` };
}

/** What one person or agent spent today and this month, in cents. */
export interface Spend {
  todayCents: number;
  monthCents: number;
}

/** A budget that is used up: whose, which period, the budget and what was spent. */
export interface BudgetReached {
  scope: 'person' | 'agent';
  period: 'day' | 'month';
  budgetCents: number;
  spentCents: number;
}

export type BudgetCheck =
  /** Room left: the session's spend ceiling is the least of what each budget has left (none: no budget). */
  { kind: 'within'; leftCents?: number } | ({ kind: 'reached'; agentName: string } & BudgetReached);

/** `/agent usage`: a person's own spend and budget, and their agents' this month. */
export interface PersonUsage {
  spend: Spend;
  budget: Budget;
  byAgent: Array<{ agentName: string; monthCents: number }>;
}

/** One line of the admins' usage chart: who, this week and this month, and their monthly budget. */
export interface UsageLine {
  /** A person's user id (their principal key's last part), or an agent's name. */
  name: string;
  weekCents: number;
  monthCents: number;
  monthlyBudgetCents?: number;
}

/** The admins' Home section: the top spenders this week and month, people and agents. */
export interface UsageOverview {
  people: UsageLine[];
  agents: UsageLine[];
  totalMonthCents: number;
}

/** What an admin edits in the budgets modal. */
export type BudgetTarget = { kind: 'defaults' } | BudgetSubject;

export interface BudgetForm {
  target: BudgetTarget;
  /** For the defaults: everyone's; for a person or agent: their own (blank: the default holds). */
  values: BudgetDefaults | Budget;
  /** The defaults, to show what a blank means. */
  defaults: BudgetDefaults;
  version?: number;
}

export type SetBudgetOutcome =
  | { kind: 'saved'; form: BudgetForm }
  | { kind: 'not_admin' }
  | { kind: 'invalid' }
  | { kind: 'conflict'; form: BudgetForm };

const NO_DEFAULTS: BudgetDefaults = { person: {}, agent: {} };

/**
 * Spend budgets (issue 19, item 2): admins set daily and monthly budgets for everyone, for one person
 * and for one agent. A run starts only with room in every budget that bears on it, and its session's
 * ceiling at Managed Agents is what the tightest of them has left (never above the agent's own), so
 * the platform stops the session where the budget ends. Spend comes from the usage ledger.
 */
export class Budgets {
  private readonly cachedDefaults: ShortLived<{ defaults: BudgetDefaults; version?: number }>;
  /** Each agent's spend, as last read (see AGENT_SPEND_CACHE_MS). */
  private readonly agentSpends: ShortLived<Spend>;
  /** The usage chart per workspace, as last read. */
  private readonly overviews: ShortLived<UsageOverview>;

  constructor(private readonly deps: { store: Store; audit: AuditLog; access: AdminCheck; clock: Clock }) {
    this.cachedDefaults = new ShortLived(deps.clock, DEFAULTS_CACHE_MS);
    this.agentSpends = new ShortLived(deps.clock, AGENT_SPEND_CACHE_MS);
    this.overviews = new ShortLived(deps.clock, OVERVIEW_CACHE_MS);
  }

  /** Whether the person may run the agent now, and the most its session may spend. One batch read; ledger reads only where a budget is set. */
  async check(principal: Principal, agentName: string): Promise<BudgetCheck> {
    const key = principalKey(principal);
    const [defaults, own, agentOwn] = await this.deps.store.settings.budgetsFor(key, agentName);
    const person = effective(own, defaults?.person);
    const agent = effective(agentOwn, defaults?.agent);
    const periods = periodsAt(this.deps.clock.now());
    const [personSpend, agentSpend] = await Promise.all([
      hasAny(person)
        ? this.spendOf(this.deps.store.usage.ofPerson(key, periods.monthFrom, periods.today))
        : none,
      hasAny(agent) ? this.agentSpend(agentName) : none,
    ]);
    let leftCents: number | undefined;
    for (const [scope, budget, spend] of [
      ['person', person, personSpend],
      ['agent', agent, agentSpend],
    ] as const) {
      for (const [period, budgetCents, spentCents] of [
        ['day', budget.dailyCents, spend.todayCents],
        ['month', budget.monthlyCents, spend.monthCents],
      ] as const) {
        if (budgetCents === undefined) continue;
        if (spentCents >= budgetCents)
          return { kind: 'reached', agentName, scope, period, budgetCents, spentCents };
        leftCents = Math.min(leftCents ?? Number.POSITIVE_INFINITY, budgetCents - spentCents);
      }
    }
    return leftCents === undefined ? { kind: 'within' } : { kind: 'within', leftCents };
  }

  /** `/agent usage`: what the person spent today and this month, by agent, and their budget. */
  async usageOf(principal: Principal): Promise<PersonUsage> {
    const key = principalKey(principal);
    const periods = periodsAt(this.deps.clock.now());
    const [entries, own, defaults] = await Promise.all([
      this.deps.store.usage.ofPerson(key, periods.monthFrom, periods.today),
      this.deps.store.settings.budgetOf({ kind: 'person', principalKey: key }),
      this.defaults(),
    ]);
    const byAgent = new Map<string, number>();
    for (const entry of entries)
      byAgent.set(entry.agentName, (byAgent.get(entry.agentName) ?? 0) + entry.spentCents);
    return {
      spend: sumSpend(entries, periods.today),
      budget: effective(own, defaults.defaults.person),
      byAgent: [...byAgent]
        .map(([agentName, monthCents]) => ({ agentName, monthCents }))
        .sort((a, b) => b.monthCents - a.monthCents),
    };
  }

  /**
   * The admins' usage chart: the top `top` people and agents by spend this month, with this week's.
   * Reads this month's ledger (and last month's when the week began in it), then the top ones' budgets,
   * at most once a minute per workspace. The caller shows it to admins only. The total is everyone's.
   */
  async overview(viewer: Principal, top = 5): Promise<UsageOverview> {
    // People of other workspaces are not the viewer's to see (on Enterprise Grid, the org's are).
    const ours = principalKey({ ...viewer, userId: '' });
    return this.overviews.read(`${ours}#${top}`, () => this.readOverview(ours, top));
  }

  private async readOverview(ours: string, top: number): Promise<UsageOverview> {
    const periods = periodsAt(this.deps.clock.now());
    const { usage } = this.deps.store;
    const [month, earlierInWeek] = await Promise.all([
      usage.ofMonth(periods.monthFrom, periods.today),
      periods.weekFrom < periods.monthFrom
        ? usage.ofMonth(periods.weekFrom, `${periods.weekFrom.slice(0, 7)}-31`)
        : Promise.resolve([]),
    ]);
    const people = new Map<string, UsageLine>();
    const agents = new Map<string, UsageLine>();
    const add = (lines: Map<string, UsageLine>, name: string, entry: UsageEntry, inMonth: boolean) => {
      const line = lines.get(name) ?? { name, weekCents: 0, monthCents: 0 };
      if (entry.day >= periods.weekFrom) line.weekCents += entry.spentCents;
      if (inMonth) line.monthCents += entry.spentCents;
      lines.set(name, line);
    };
    for (const [entries, inMonth] of [
      [month, true],
      [earlierInWeek, false],
    ] as const) {
      for (const entry of entries) {
        // Forgotten people's spend still counts for their agents, under no name.
        if (entry.principalKey?.startsWith(ours)) add(people, entry.principalKey, entry, inMonth);
        add(agents, entry.agentName, entry, inMonth);
      }
    }
    const topOf = (lines: Map<string, UsageLine>) =>
      [...lines.values()]
        .sort((a, b) => b.monthCents - a.monthCents || b.weekCents - a.weekCents)
        .slice(0, top);
    const [topPeople, topAgents] = [topOf(people), topOf(agents)];
    const [defaults, peopleOwn, agentsOwn] = await Promise.all([
      this.defaults(),
      this.deps.store.settings.budgetsOf(
        topPeople.map((l) => ({ kind: 'person' as const, principalKey: l.name })),
      ),
      this.deps.store.settings.budgetsOf(
        topAgents.map((l) => ({ kind: 'agent' as const, agentName: l.name })),
      ),
    ]);
    const withBudget = (lines: UsageLine[], own: Array<StoredBudget | undefined>, fallback: Budget) =>
      lines.map((line, i) => {
        const monthly = effective(own[i], fallback).monthlyCents;
        return monthly === undefined ? line : { ...line, monthlyBudgetCents: monthly };
      });
    return {
      people: withBudget(topPeople, peopleOwn, defaults.defaults.person).map((line) => ({
        ...line,
        name: line.name.split(':').at(-1) ?? line.name,
      })),
      agents: withBudget(topAgents, agentsOwn, defaults.defaults.agent),
      totalMonthCents: month.reduce((sum, entry) => sum + entry.spentCents, 0),
    };
  }

  /** `/agent budgets [@person | agent NAME]` (admins): the budgets to edit. */
  async forAdmin(
    admin: Principal,
    target: BudgetTarget,
    correlationId: string,
  ): Promise<BudgetForm | undefined> {
    if (!(await this.deps.access.authorize(admin, '/agent budgets', correlationId))) return undefined;
    this.cachedDefaults.forget();
    return this.form(target);
  }

  /**
   * An admin sets a budget: checked as every admin surface is, recorded before it takes effect
   * (security R46), and written only over the version the admin edited. Nobody else can: the check
   * is here, not in the modal, so a forged submission changes nothing.
   */
  async set(
    admin: Principal,
    target: BudgetTarget,
    values: BudgetDefaults | Budget,
    editedVersion: number | undefined,
    correlationId: string,
  ): Promise<SetBudgetOutcome> {
    if (!(await this.deps.access.authorize(admin, '/agent budgets', correlationId)))
      return { kind: 'not_admin' };
    const budgets = target.kind === 'defaults' ? Object.values(values as BudgetDefaults) : [values as Budget];
    if (
      (target.kind === 'defaults' && !('person' in values && 'agent' in values)) ||
      budgets.some((b) => !budgetSchema.strict().safeParse(b).success) ||
      budgets.some((b) => Object.values(b).some((cents) => cents > MAX_BUDGET_USD * 100))
    )
      return { kind: 'invalid' };
    this.cachedDefaults.forget();
    const before = await this.form(target);
    if (before.version !== editedVersion) return { kind: 'conflict', form: before };
    const version = (editedVersion ?? 0) + 1;
    const subject = targetName(target);
    await this.deps.audit.record({
      action: AuditAction.BudgetChanged,
      outcome: 'success',
      principal: admin,
      target: subject,
      correlationId,
      details: { version, diff: budgetDiff(before.values, values) },
    });
    const change = {
      version,
      changedBy: principalKey(admin),
      changedAt: new Date(this.deps.clock.now()).toISOString(),
    };
    const { settings } = this.deps.store;
    const saved =
      target.kind === 'defaults'
        ? await settings.putBudgetDefaults({ ...(values as BudgetDefaults), ...change }, editedVersion)
        : await settings.putBudget(target, { budget: values as Budget, ...change }, editedVersion);
    this.cachedDefaults.forget();
    if (saved) return { kind: 'saved', form: await this.form(target) };
    // Another admin saved in between: the change recorded above did not take effect.
    await this.deps.audit.record({
      action: AuditAction.BudgetChanged,
      outcome: 'failure',
      principal: admin,
      target: subject,
      correlationId,
      details: { version, reason: 'lost_to_another_admin' },
    });
    return { kind: 'conflict', form: await this.form(target) };
  }

  private async form(target: BudgetTarget): Promise<BudgetForm> {
    const defaults = await this.defaults();
    if (target.kind === 'defaults')
      return {
        target,
        values: defaults.defaults,
        defaults: defaults.defaults,
        ...(defaults.version ? { version: defaults.version } : {}),
      };
    const own = await this.deps.store.settings.budgetOf(target);
    return {
      target,
      values: own?.budget ?? {},
      defaults: defaults.defaults,
      ...(own ? { version: own.version } : {}),
    };
  }

  private defaults(): Promise<{ defaults: BudgetDefaults; version?: number }> {
    return this.cachedDefaults.read('defaults', async () => {
      const stored = await this.deps.store.settings.budgetDefaults();
      return stored
        ? { defaults: { person: stored.person, agent: stored.agent }, version: stored.version }
        : { defaults: NO_DEFAULTS };
    });
  }

  private agentSpend(agentName: string): Promise<Spend> {
    return this.agentSpends.read(agentName, () => {
      const periods = periodsAt(this.deps.clock.now());
      return this.spendOf(this.deps.store.usage.ofAgent(agentName, periods.monthFrom, periods.today));
    });
  }

  private async spendOf(entries: Promise<UsageEntry[]>): Promise<Spend> {
    return sumSpend(await entries, periodsAt(this.deps.clock.now()).today);
  }

  /** Audits a refusal for a used-up budget (each one: the rate limits bound how many). */
  async refused(
    principal: Principal,
    reached: BudgetCheck & { kind: 'reached' },
    target: string,
    correlationId: string,
  ) {
    await this.deps.audit.record({
      action: AuditAction.BudgetExceeded,
      outcome: 'refused',
      principal,
      target,
      correlationId,
      details: {
        agent: reached.agentName,
        scope: reached.scope,
        period: reached.period,
        budgetCents: reached.budgetCents,
        spentCents: reached.spentCents,
      },
    });
  }
}

const none: Spend = { todayCents: 0, monthCents: 0 };

/** A person's or agent's own budget where they have one, the default for everyone where not. */
function effective(own: StoredBudget | undefined, fallback: Budget | undefined): Budget {
  const daily = own?.budget.dailyCents ?? fallback?.dailyCents;
  const monthly = own?.budget.monthlyCents ?? fallback?.monthlyCents;
  return {
    ...(daily !== undefined ? { dailyCents: daily } : {}),
    ...(monthly !== undefined ? { monthlyCents: monthly } : {}),
  };
}

const hasAny = (budget: Budget) => budget.dailyCents !== undefined || budget.monthlyCents !== undefined;

function sumSpend(entries: UsageEntry[], today: string): Spend {
  let todayCents = 0;
  let monthCents = 0;
  for (const entry of entries) {
    monthCents += entry.spentCents;
    if (entry.day === today) todayCents += entry.spentCents;
  }
  return { todayCents, monthCents };
}

/** What the audit record names as the budget changed. */
export function targetName(target: BudgetTarget): string {
  if (target.kind === 'defaults') return 'budgets for everyone';
  return target.kind === 'person'
    ? `budget of ${target.principalKey}`
    : `budget of agent ${target.agentName}`;
}

const dollars = (cents: number | undefined) =>
  cents === undefined ? 'none' : `$${(cents / 100).toFixed(2)}`;

/** One line per changed figure, for the audit record: `person monthly none → $50.00`. */
function budgetDiff(before: BudgetDefaults | Budget, after: BudgetDefaults | Budget): string {
  const pairs: Array<[string, Budget, Budget]> =
    'person' in after && 'person' in before
      ? [
          ['person ', before.person, after.person],
          ['agent ', (before as BudgetDefaults).agent, after.agent],
        ]
      : [['', before as Budget, after as Budget]];
  const changes: string[] = [];
  for (const [prefix, was, is] of pairs)
    for (const [field, label] of [
      ['dailyCents', 'daily'],
      ['monthlyCents', 'monthly'],
    ] as const)
      if (was[field] !== is[field])
        changes.push(`${prefix}${label} ${dollars(was[field])} → ${dollars(is[field])}`);
  return changes.join('; ') || '(no change)';
}
