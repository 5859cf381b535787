import type { Clock } from '../../src/clock.js';

/**
 * Slack's Web API rate limits as Slack publishes them, per method per app per workspace, at the
 * floor of each tier (the strict reading of "50+ per minute"): at most `limit` calls in any
 * `windowMs`. Kept apart from the product's own table on purpose: the emulator is the model Deputy's
 * pacing is checked against, not a copy of it.
 * https://docs.slack.dev/apis/web-api/rate-limits
 */
interface Window {
  limit: number;
  windowMs: number;
}

const perMinute = (limit: number): Window => ({ limit, windowMs: 60_000 });
const TIERS: Record<string, Window> = {
  'auth.test': perMinute(100),
  // Special: "one message per second per channel, short bursts allowed", under a workspace limit.
  'chat.postMessage': perMinute(200),
  'chat.postEphemeral': perMinute(100),
  'chat.update': perMinute(50),
  // "Special": hundreds a minute.
  'chat.getPermalink': perMinute(100),
  'conversations.open': perMinute(50),
  'conversations.info': perMinute(50),
  'conversations.members': perMinute(100),
  // Tier 3 for internal apps (commercially distributed ones off the Marketplace get 1 a minute).
  'conversations.replies': perMinute(50),
  'files.getUploadURLExternal': perMinute(100),
  'files.completeUploadExternal': perMinute(100),
  'users.info': perMinute(100),
  'usergroups.list': perMinute(20),
  'usergroups.users.list': perMinute(20),
  'views.open': perMinute(100),
  'views.push': perMinute(100),
  'views.update': perMinute(100),
  'views.publish': perMinute(100),
};
const PER_CHANNEL: Record<string, Window> = {
  'chat.postMessage': { limit: 5, windowMs: 5_000 },
};

/** Counts calls per method (and per channel where Slack does) and says when one is over its limit. */
export class RateTiers {
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    /** Every limit multiplied by this: tests on a clock that stands still raise them (1: Slack's own). */
    public scale = 1,
  ) {}

  /**
   * Counts a call to `method` (in `channel`), or refuses it: the seconds until it may be made again,
   * Slack's Retry-After. A refused call is not counted.
   */
  take(method: string, channel: string | undefined): { retryAfterSeconds: number } | undefined {
    const now = this.clock.now();
    const windows: Array<[string, Window]> = [];
    const tier = TIERS[method];
    if (tier) windows.push([method, tier]);
    const perChannel = PER_CHANNEL[method];
    if (perChannel && channel) windows.push([`${method}#${channel}`, perChannel]);
    let waitMs = 0;
    for (const [key, window] of windows) {
      const recent = (this.calls.get(key) ?? []).filter((at) => at > now - window.windowMs);
      this.calls.set(key, recent);
      const limit = window.limit * this.scale;
      if (recent.length >= limit) {
        waitMs = Math.max(waitMs, (recent[recent.length - limit] ?? now) + window.windowMs - now);
      }
    }
    if (waitMs > 0) return { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    for (const [key] of windows) this.calls.get(key)?.push(now);
    return undefined;
  }

  clear(): void {
    this.calls.clear();
  }
}
