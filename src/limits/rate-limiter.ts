import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { AdminCheck } from '../audit/audit-trail.js';
import type { Clock } from '../clock.js';
import type { AdminDirectory } from '../identity/admins.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import {
  type LimitedAction,
  type LiveLimits,
  liveLimitsSchema,
  type RateLimits,
  type RateWindow,
  rateLimitsSchema,
  type Store,
} from '../store/index.js';
import type { Work } from '../work.js';
import type { LimitNotices } from './notices.js';

export type { LimitedAction, LiveLimits, RateLimits } from '../store/index.js';

/**
 * The limits a person meets when nobody set others: far above what someone working by hand does,
 * low enough that a script (or a stuck retry loop) is stopped within the minute.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  run: { perMinute: 25, perHour: 200 },
  connect: { perMinute: 10, perHour: 60 },
  decide: { perMinute: 60, perHour: 600 },
  follow_up: { perMinute: 30, perHour: 300 },
};

/** Live sessions (running, or waiting for a decision) at once: per person, and per agent for everyone. */
export const DEFAULT_LIVE_LIMITS: LiveLimits = { perPerson: 3, perAgent: 50 };

/** The most an admin may set a limit to (per minute, per hour). */
export const MAX_RATE_LIMIT = 100_000;

/** How long the limits as set are trusted before they are read again: a change reaches every replica this fast. */
export const LIMITS_CACHE_MS = 10_000;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export type RateCheck =
  | { kind: 'allowed' }
  | {
      kind: 'limited';
      action: LimitedAction;
      window: 'minute' | 'hour';
      limit: number;
      retryAfterSeconds: number;
    };

export type SetLimitsOutcome =
  | { kind: 'saved'; current: CurrentLimits }
  | { kind: 'not_admin' }
  /** A limit that is not a whole number from 1 to MAX_RATE_LIMIT: nothing was changed. */
  | { kind: 'invalid' }
  /** Another admin saved since this one opened the limits: nothing was changed. */
  | { kind: 'conflict'; current: CurrentLimits };

/** The limits in force, and the version an admin's edit must start from (none: the defaults). */
export interface CurrentLimits {
  limits: RateLimits;
  live: LiveLimits;
  version?: number;
}

/**
 * Per-person rate limits (issue 19): each limited action is counted per minute and per hour in
 * DynamoDB, so every replica sharing the table counts together, and refused before it does anything.
 * The first refusal of a person in an hour is audited and told to the admins; the rest are only
 * refused, so a script hammering a limit cannot flood the trail or the admins.
 */
export class RateLimiter {
  private cached: { current: CurrentLimits; until: number } | undefined;

  constructor(
    private readonly deps: {
      store: Store;
      audit: AuditLog;
      access: AdminCheck;
      admins: Pick<AdminDirectory, 'configured'>;
      notices: LimitNotices;
      /** Where the report of a refusal (its audit record, the admins' DMs) runs after the refusal. */
      work: Pick<Work, 'track'>;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  /**
   * Counts one `action` by the person, or refuses it: allowed only when both its minute and its hour
   * have room. What one window counted is given back when the other was full.
   */
  async take(principal: Principal, action: LimitedAction, correlationId: string): Promise<RateCheck> {
    const { limits } = await this.current();
    const now = this.deps.clock.now();
    const minute = windowAt('m', MINUTE_MS, limits[action].perMinute, now);
    const hour = windowAt('h', HOUR_MS, limits[action].perHour, now);
    const key = principalKey(principal);
    const counters = this.deps.store.rateCounters;
    const [inMinute, inHour] = await Promise.all([
      counters.take(key, action, minute),
      counters.take(key, action, hour),
    ]);
    if (inMinute && inHour) return { kind: 'allowed' };
    if (inMinute) await counters.giveBack(key, action, minute);
    if (inHour) await counters.giveBack(key, action, hour);
    // The full window that ends last is the wait.
    const full = inHour ? minute : hour;
    const check = {
      kind: 'limited' as const,
      action,
      window: full.name === 'm' ? ('minute' as const) : ('hour' as const),
      limit: full.limit,
      retryAfterSeconds: Math.max(1, Math.ceil((full.endsAtMs - now) / 1000)),
    };
    // Told after the refusal, as tracked work: the person's answer never waits on the admins' DMs.
    void this.deps.work.track(() => this.report(principal, check, hour, correlationId));
    return check;
  }

  /** The limits in force (as an admin set them, else the defaults), read at most every LIMITS_CACHE_MS. */
  async current(): Promise<CurrentLimits> {
    const now = this.deps.clock.now();
    if (this.cached && this.cached.until > now) return this.cached.current;
    const stored = await this.deps.store.settings.rateLimits();
    const current = stored
      ? { limits: stored.limits, live: stored.live ?? DEFAULT_LIVE_LIMITS, version: stored.version }
      : { limits: DEFAULT_RATE_LIMITS, live: DEFAULT_LIVE_LIMITS };
    this.cached = { current, until: now + LIMITS_CACHE_MS };
    return current;
  }

  /** `/agent limits`: the limits in force, for an admin to change. */
  async forAdmin(admin: Principal, correlationId: string): Promise<CurrentLimits | undefined> {
    if (!(await this.deps.access.authorize(admin, '/agent limits', correlationId))) return undefined;
    this.cached = undefined;
    return this.current();
  }

  /**
   * An admin sets the limits (`/agent limits`): checked as every admin surface is, recorded before it
   * takes effect (security R46), and written only over the version the admin edited.
   */
  async setLimits(
    admin: Principal,
    { limits, live }: Pick<CurrentLimits, 'limits' | 'live'>,
    editedVersion: number | undefined,
    correlationId: string,
  ): Promise<SetLimitsOutcome> {
    if (!(await this.deps.access.authorize(admin, '/agent limits', correlationId)))
      return { kind: 'not_admin' };
    const numbers = [
      ...Object.values(limits).flatMap((l) => [l.perMinute, l.perHour]),
      live.perPerson,
      live.perAgent,
    ];
    if (
      !rateLimitsSchema.safeParse(limits).success ||
      !liveLimitsSchema.safeParse(live).success ||
      numbers.some((n) => n > MAX_RATE_LIMIT)
    )
      return { kind: 'invalid' };
    this.cached = undefined;
    const before = await this.current();
    if (before.version !== editedVersion) return { kind: 'conflict', current: before };
    const version = (editedVersion ?? 0) + 1;
    await this.deps.audit.record({
      action: AuditAction.LimitsChanged,
      outcome: 'success',
      principal: admin,
      target: 'rate limits',
      correlationId,
      details: { version, diff: limitsDiff(before, { limits, live }) },
    });
    const saved = await this.deps.store.settings.putRateLimits(
      {
        limits,
        live,
        version,
        changedBy: principalKey(admin),
        changedAt: new Date(this.deps.clock.now()).toISOString(),
      },
      editedVersion,
    );
    this.cached = undefined;
    if (saved) return { kind: 'saved', current: { limits, live, version } };
    // Another admin saved in between: the change recorded above did not take effect.
    await this.deps.audit.record({
      action: AuditAction.LimitsChanged,
      outcome: 'failure',
      principal: admin,
      target: 'rate limits',
      correlationId,
      details: { version, reason: 'lost_to_another_admin' },
    });
    return { kind: 'conflict', current: await this.current() };
  }

  /** The person's first refusal in the hour: audited, and the admins told. Never fails the refusal. */
  private async report(
    principal: Principal,
    check: Extract<RateCheck, { kind: 'limited' }>,
    hour: RateWindow,
    correlationId: string,
  ): Promise<void> {
    try {
      if (
        !(await this.deps.store.rateCounters.markReported(principalKey(principal), hour.index, hour.endsAtMs))
      )
        return;
      await this.deps.audit.record({
        action: AuditAction.RateLimited,
        outcome: 'refused',
        principal,
        target: check.action,
        correlationId,
        details: { window: check.window, limit: check.limit },
      });
      await this.deps.notices.limitHit(this.deps.admins.configured, {
        person: principal,
        action: check.action,
        window: check.window,
        limit: check.limit,
      });
    } catch (error) {
      this.deps.logger.warn('a rate limit refusal was not reported', { error: String(error), correlationId });
    }
  }
}

function windowAt(name: string, lengthMs: number, limit: number, now: number): RateWindow {
  const index = Math.floor(now / lengthMs);
  return { name, index, limit, endsAtMs: (index + 1) * lengthMs };
}

/** One line per changed limit, for the audit record: `run per minute 25 → 10`. */
export function limitsDiff(
  before: Pick<CurrentLimits, 'limits' | 'live'>,
  after: Pick<CurrentLimits, 'limits' | 'live'>,
): string {
  const changes: string[] = [];
  for (const action of Object.keys(after.limits) as LimitedAction[]) {
    for (const per of ['perMinute', 'perHour'] as const) {
      const [was, is] = [before.limits[action][per], after.limits[action][per]];
      if (was !== is)
        changes.push(`${action} ${per === 'perMinute' ? 'per minute' : 'per hour'} ${was} → ${is}`);
    }
  }
  for (const per of ['perPerson', 'perAgent'] as const) {
    const [was, is] = [before.live[per], after.live[per]];
    if (was !== is)
      changes.push(`live sessions ${per === 'perPerson' ? 'per person' : 'per agent'} ${was} → ${is}`);
  }
  return changes.join('; ') || '(no change)';
}
