import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

/** A limit on one action: how many a person may do per minute and per hour. */
const rateLimitSchema = z.object({
  perMinute: z.number().int().positive(),
  perHour: z.number().int().positive(),
});
/** The limited actions: runs, connects, approval decisions and follow-ups. */
export const rateLimitsSchema = z.object({
  run: rateLimitSchema,
  connect: rateLimitSchema,
  decide: rateLimitSchema,
  follow_up: rateLimitSchema,
});
export type RateLimits = z.infer<typeof rateLimitsSchema>;
export type LimitedAction = keyof RateLimits;

/** How many sessions may be live (running, or waiting for a decision) at once, per person and per agent. */
export const liveLimitsSchema = z.object({
  perPerson: z.number().int().positive(),
  perAgent: z.number().int().positive(),
});
export type LiveLimits = z.infer<typeof liveLimitsSchema>;

const storedRateLimitsSchema = z.object({
  limits: rateLimitsSchema,
  /** Absent on limits saved before there were live limits: the defaults hold. */
  live: liveLimitsSchema.optional(),
  version: z.number().int().positive(),
  changedBy: z.string(),
  changedAt: z.string(),
});
export type StoredRateLimits = z.infer<typeof storedRateLimitsSchema>;
const StoredRateLimitsRecord = recordKind('rate limits', storedRateLimitsSchema);

/** Spend budgets in cents (US dollars' minor units) per UTC day and per calendar month; absent: none. */
export const budgetSchema = z.object({
  dailyCents: z.number().int().positive().optional(),
  monthlyCents: z.number().int().positive().optional(),
});
export type Budget = z.infer<typeof budgetSchema>;

/** The budgets everyone has unless an admin set their own: each person's, and each agent's. */
const budgetDefaultsSchema = z.object({ person: budgetSchema, agent: budgetSchema });
export type BudgetDefaults = z.infer<typeof budgetDefaultsSchema>;

const changeSchema = { version: z.number().int().positive(), changedBy: z.string(), changedAt: z.string() };
const storedBudgetDefaultsSchema = budgetDefaultsSchema.extend(changeSchema);
export type StoredBudgetDefaults = z.infer<typeof storedBudgetDefaultsSchema>;
const StoredBudgetDefaultsRecord = recordKind('budget defaults', storedBudgetDefaultsSchema);

/** Whose own budget: a person's (by principal key) or an agent's (by name). */
export type BudgetSubject = { kind: 'person'; principalKey: string } | { kind: 'agent'; agentName: string };
const storedBudgetSchema = z.object({ budget: budgetSchema, ...changeSchema });
export type StoredBudget = z.infer<typeof storedBudgetSchema>;
const StoredBudgetRecord = recordKind('budget', storedBudgetSchema);

const subjectName = (subject: BudgetSubject) =>
  subject.kind === 'person' ? `BUDGET#P#${subject.principalKey}` : `BUDGET#A#${subject.agentName}`;

/** A write over `previousVersion` only (none: never set), so two admins' edits never silently cross. */
const overVersion = (previousVersion: number | undefined) =>
  previousVersion === undefined
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: 'version = :previous',
        ExpressionAttributeValues: { ':previous': previousVersion },
      };

/** The settings admins change in Slack, each one record with a version that guards concurrent edits. */
export class Settings {
  constructor(private readonly table: Table) {}

  rateLimits(): Promise<StoredRateLimits | undefined> {
    return this.table.get(StoredRateLimitsRecord, keys.settings('RATE_LIMITS'));
  }

  /** Writes the limits if the stored version is still `previousVersion` (none: never set); false when it moved on. */
  putRateLimits(stored: StoredRateLimits, previousVersion: number | undefined): Promise<boolean> {
    return this.table.putIf(
      { ...keys.settings('RATE_LIMITS'), ...storedRateLimitsSchema.parse(stored) },
      overVersion(previousVersion),
    );
  }

  /**
   * The budgets that bear on one run, in one round trip: everyone's defaults, the person's own and
   * the agent's own (each undefined where none was set).
   */
  async budgetsFor(
    principalKey: string,
    agentName: string,
  ): Promise<[StoredBudgetDefaults | undefined, StoredBudget | undefined, StoredBudget | undefined]> {
    return this.table.getMany([
      { kind: StoredBudgetDefaultsRecord, key: keys.settings('BUDGETS') },
      { kind: StoredBudgetRecord, key: keys.settings(subjectName({ kind: 'person', principalKey })) },
      { kind: StoredBudgetRecord, key: keys.settings(subjectName({ kind: 'agent', agentName })) },
    ]);
  }

  budgetDefaults(): Promise<StoredBudgetDefaults | undefined> {
    return this.table.get(StoredBudgetDefaultsRecord, keys.settings('BUDGETS'));
  }

  putBudgetDefaults(stored: StoredBudgetDefaults, previousVersion: number | undefined): Promise<boolean> {
    return this.table.putIf(
      { ...keys.settings('BUDGETS'), ...storedBudgetDefaultsSchema.parse(stored) },
      overVersion(previousVersion),
    );
  }

  budgetOf(subject: BudgetSubject): Promise<StoredBudget | undefined> {
    return this.table.get(StoredBudgetRecord, keys.settings(subjectName(subject)));
  }

  /** The own budgets of several people or agents, in one batch read (absent where they have none). */
  budgetsOf(subjects: BudgetSubject[]): Promise<Array<StoredBudget | undefined>> {
    return this.table.getAll(
      StoredBudgetRecord,
      subjects.map((subject) => keys.settings(subjectName(subject))),
    );
  }

  putBudget(
    subject: BudgetSubject,
    stored: StoredBudget,
    previousVersion: number | undefined,
  ): Promise<boolean> {
    return this.table.putIf(
      { ...keys.settings(subjectName(subject)), ...storedBudgetSchema.parse(stored) },
      overVersion(previousVersion),
    );
  }

  /** Forget-me: the person's own budget names them. */
  async forgetBudget(principalKey: string): Promise<void> {
    await this.table.delete(keys.settings(subjectName({ kind: 'person', principalKey })));
  }
}
