import { z } from 'zod';
import { sha256 } from '../fingerprint.js';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/** A UTC day as `YYYY-MM-DD`. */
const daySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

const usageEntrySchema = z.object({
  /** Absent once the session's person was forgotten (the entry then counts for its agent alone). */
  sessionId: z.string().optional(),
  day: daySchema,
  /** What the session spent that day at list price, in cents (US dollars' minor units). */
  spentCents: z.number().int().nonnegative(),
  agentName: z.string(),
  /** Whose session it was; absent in the month's copy once they were forgotten. */
  principalKey: z.string().optional(),
});
export type UsageEntry = z.infer<typeof usageEntrySchema>;
const UsageEntryRecord = recordKind('usage', usageEntrySchema);

/** The partitions one session's day is written to. */
export const personScope = (principalKey: string) => `P#${principalKey}`;
export const agentScope = (agentName: string) => `A#${agentName}`;
export const monthScope = (day: string) => `M#${day.slice(0, 7)}`;

/**
 * The usage ledger (issue 19): one entry per session per UTC day it spent on, holding what it spent
 * that day. An entry is only ever raised to a value the session's record already counted
 * (store/sessions.ts `moveUsage`), so writing it again, from any replica, changes nothing: the
 * ledger is repaired by writing, never by adding. Each entry is kept in three partitions, so a
 * person's, an agent's and a month's spend is each one query.
 */
export class UsageLedger {
  constructor(private readonly table: Table) {}

  /**
   * Writes the session's spend on `day` to its three partitions, unless they hold as much already.
   * `expiresAtMs`: when the entries go (retention).
   */
  async write(
    entry: UsageEntry & { principalKey: string; sessionId: string },
    expiresAtMs: number,
  ): Promise<void> {
    const parsed = usageEntrySchema.parse(entry);
    const raise = (scope: string) => {
      // The agent's copy does not name the person: it outlives their forget-me.
      const named = !scope.startsWith('A#');
      return this.table.updateIf(keys.usage(scope, parsed.day, entry.sessionId), {
        UpdateExpression: `SET #spent = :spent, #session = :session, #day = :day, #agent = :agent, #expiry = :expiry${named ? ', #principal = :principal' : ''}`,
        ConditionExpression: 'attribute_not_exists(#spent) OR #spent < :spent',
        ExpressionAttributeNames: {
          '#spent': 'spentCents',
          '#session': 'sessionId',
          '#day': 'day',
          '#agent': 'agentName',
          '#expiry': EXPIRY_ATTRIBUTE,
          ...(named ? { '#principal': 'principalKey' } : {}),
        },
        ExpressionAttributeValues: {
          ':spent': parsed.spentCents,
          ':session': entry.sessionId,
          ':day': parsed.day,
          ':agent': parsed.agentName,
          ':expiry': epochSeconds(expiresAtMs),
          ...(named ? { ':principal': entry.principalKey } : {}),
        },
      });
    };
    // The person's copy first: forget-me finds the others through it, so none is ever written
    // without it, and it never holds less than they do.
    await raise(personScope(entry.principalKey));
    await Promise.all([raise(agentScope(parsed.agentName)), raise(monthScope(parsed.day))]);
  }

  /** A person's entries from the first day to the last. */
  ofPerson(principalKey: string, firstDay: string, lastDay: string): Promise<UsageEntry[]> {
    return this.table.query(
      UsageEntryRecord,
      keys.usageBetween(personScope(principalKey), firstDay, lastDay),
    );
  }

  /** An agent's entries (everyone's sessions of it) from the first day to the last. */
  ofAgent(agentName: string, firstDay: string, lastDay: string): Promise<UsageEntry[]> {
    return this.table.query(UsageEntryRecord, keys.usageBetween(agentScope(agentName), firstDay, lastDay));
  }

  /** Everyone's entries from the first day to the last, in one month's partition (both days in it). */
  ofMonth(firstDay: string, lastDay: string): Promise<UsageEntry[]> {
    return this.table.query(UsageEntryRecord, keys.usageBetween(monthScope(firstDay), firstDay, lastDay));
  }

  /**
   * Forget-me: the person's entries go, and the agent's and month's copies are written again under
   * no session and no person, so the agent's and everyone's spend still count what their sessions cost.
   */
  async forget(principalKey: string): Promise<void> {
    const { partition } = keys.usageBetween(personScope(principalKey), '', '');
    for (const item of await this.table.queryItems({ partition, allPages: true })) {
      const entry = usageEntrySchema.safeParse(item);
      if (entry.success && entry.data.sessionId) {
        const { day, spentCents, agentName, sessionId } = entry.data;
        // The same key for the same session, so forgetting again (a retry) writes nothing twice.
        const anonymous = `forgotten-${sha256(sessionId).slice(0, 24)}`;
        for (const scope of [agentScope(agentName), monthScope(day)]) {
          await this.table.put({
            ...keys.usage(scope, day, anonymous),
            day,
            spentCents,
            agentName,
            [EXPIRY_ATTRIBUTE]: item[EXPIRY_ATTRIBUTE],
          });
          await this.table.delete(keys.usage(scope, day, sessionId));
        }
      }
      await this.table.delete({ pk: partition, sk: String(item.sk) });
    }
  }
}
