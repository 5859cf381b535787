import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/** At most `limit` calls in any `windowMs`. */
export interface CallWindow {
  limit: number;
  windowMs: number;
}

/** How often Slack lets an app call a Web API method in one workspace. */
export interface MethodLimit {
  /** Per method, per workspace (one bot token is one installation). */
  workspace: CallWindow;
  /** Per conversation as well: chat.postMessage allows about one message a second in each. */
  perChannel?: CallWindow;
}

const MINUTE_MS = 60_000;
const tier = (perMinute: number): MethodLimit => ({ workspace: { limit: perMinute, windowMs: MINUTE_MS } });
/** Slack's published tiers, at their floors ("20+ per minute" is 20): https://docs.slack.dev/apis/web-api/rate-limits */
const TIER_2 = tier(20);
const TIER_3 = tier(50);
const TIER_4 = tier(100);

/**
 * The tier of every method Deputy calls. chat.postMessage is "special": about one message a second
 * per channel with short bursts, under a workspace-wide limit Slack does not publish (taken here as
 * a conservative 200 a minute). An unlisted method is taken as tier 2, the most common.
 */
export const SLACK_METHOD_LIMITS: Readonly<Record<string, MethodLimit>> = {
  'auth.test': TIER_4,
  'chat.postMessage': {
    workspace: { limit: 200, windowMs: MINUTE_MS },
    perChannel: { limit: 5, windowMs: 5_000 },
  },
  'chat.postEphemeral': TIER_4,
  'chat.update': TIER_3,
  // "Special" in Slack's reference: hundreds a minute; taken as tier 4.
  'chat.getPermalink': TIER_4,
  'conversations.open': TIER_3,
  'conversations.info': TIER_3,
  'conversations.members': TIER_4,
  'conversations.replies': TIER_3,
  'files.getUploadURLExternal': TIER_4,
  'files.completeUploadExternal': TIER_4,
  'users.info': TIER_4,
  'usergroups.list': TIER_2,
  'usergroups.users.list': TIER_2,
  'views.open': TIER_4,
  'views.push': TIER_4,
  'views.update': TIER_4,
  'views.publish': TIER_4,
};
const UNLISTED_METHOD = TIER_2;

/**
 * Calls are counted as if each window were this much longer: Slack counts a call when it arrives,
 * a little after Deputy counted it, and a window Deputy saw as passed may not have at Slack.
 */
const WINDOW_MARGIN_MS = 1_000;
/** A call Slack answered 429 this many times is given up on (the caller sees the rate-limit error). */
const MAX_RATE_LIMITED_TRIES = 4;

/** One Web API call as the pacer sees it: its method and the arguments that place it. */
export interface PacedCall {
  method: string;
  /** The conversation it writes to, the message it edits, the person whose Home it publishes. */
  channel?: string | undefined;
  ts?: string | undefined;
  /** The thread a post replies in. */
  threadTs?: string | undefined;
  userId?: string | undefined;
}

/**
 * How long a call may wait for others when Slack's limits are tight: a decision card goes before
 * anything else waiting, and progress (lines, a root message's status) waits for everything else
 * and may use only part of each window, so what people wait on always finds room.
 */
export type SlackPriority = 'urgent' | 'normal' | 'background';
const RANK: Readonly<Record<SlackPriority, number>> = { urgent: 0, normal: 1, background: 2 };
/** The part of a method's window background calls may use; the rest is kept for the others. */
const BACKGROUND_SHARE = 0.6;

/**
 * Calls that must leave one at a time in the order they came, by key: posts to one conversation
 * (a thread reads in order), edits of one message and publishes of one Home (the last one handed
 * over is the one that shows). `coalesce`: an edit not yet sent is replaced by a newer one of the
 * same message, so a busy message costs one call per slot rather than one per change.
 */
function laneOf(call: PacedCall): { key: string; coalesce: boolean } | undefined {
  // One thread's replies in order; threads of one conversation (one DM, many sessions) apart.
  if (call.method === 'chat.postMessage' && call.channel)
    return { key: `post#${call.channel}#${call.threadTs ?? ''}`, coalesce: false };
  if (call.method === 'chat.update' && call.channel && call.ts)
    return { key: `update#${call.channel}#${call.ts}`, coalesce: true };
  if (call.method === 'views.publish' && call.userId) return { key: `home#${call.userId}`, coalesce: true };
  return undefined;
}

interface Queued {
  send: () => Promise<Response>;
  /** Its priority, raised to that of a call queued behind it (which would otherwise wait on it). */
  rank: number;
  /** Wakes it while it waits for room, once its rank was raised. */
  raised?: () => void;
  /** Set once its slot came and it went: from then on a newer edit queues behind it. */
  sent: boolean;
  /** Callers whose edit this one replaced: they get its answer. */
  waiters: Array<{ resolve: (response: Response) => void; reject: (error: unknown) => void }>;
  /** Resolved when the entries before it have gone. */
  turn: Promise<void>;
  takeTurn: () => void;
}

/**
 * Keeps Deputy's Web API calls within Slack's limits, in one place for the whole process: each call
 * waits (on the injected clock) until its method's window has room in the workspace, and in its
 * channel where Slack limits per channel. A 429 pauses only what it limits, for its Retry-After, and
 * the call goes again in its place, so nothing unrelated waits behind it and a conversation's
 * messages still leave in order.
 */
export class SlackPacer {
  /** When each key's recent calls were made, oldest first. */
  private readonly recent = new Map<string, number[]>();
  private readonly pausedUntil = new Map<string, number>();
  /** Calls not yet answered in each lane (see laneOf), in order; the first is the one going. */
  private readonly lanes = new Map<string, Queued[]>();
  private rateLimitedCount = 0;
  private coalescedCount = 0;
  /** Calls waiting for room, per window key, by rank. */
  private readonly waiting = new Map<string, number[]>();
  /** Woken whenever a waiting call took its slot or gave up (one of lower rank may go now). */
  private moved: Array<() => void> = [];
  private readonly priority = new AsyncLocalStorage<SlackPriority>();
  /** Rejects once the process stops: nothing waits on Slack's limits past that. */
  private readonly stopped: Promise<never>;
  private stop: (error: Error) => void = () => {};
  private closed = false;

  constructor(
    private readonly deps: {
      clock: Clock;
      logger: Logger;
      /**
       * Slack's limits multiplied by this (default 1). Tests on a clock that stands still between
       * steps raise them, as the emulator's; the tests about limits keep Slack's own.
       */
      scale?: number;
      /** Marks a wait for another call's turn as waiting, not working (Work.resting). */
      rest?: <T>(waiting: Promise<T>) => Promise<T>;
    },
  ) {
    this.stopped = new Promise<never>((_, reject) => {
      this.stop = reject;
    });
    this.stopped.catch(() => undefined);
  }

  /**
   * The process is stopping: calls that may go still go, and every call waiting on a limit, a
   * Retry-After or its turn fails now (a relay's cursor has not moved past it, so whoever relays
   * the session next sends it).
   */
  close(): void {
    this.closed = true;
    this.stop(new Error('Deputy is stopping: a Slack call waiting on Slack’s rate limits was not sent'));
  }

  /** How many times Slack answered 429 all the same (the limits here were too generous, or shared). */
  get rateLimited(): number {
    return this.rateLimitedCount;
  }

  /** How many calls were never sent because a newer one replaced them. */
  get coalesced(): number {
    return this.coalescedCount;
  }

  /** Runs `work` with the Slack calls it makes at `priority` (the outbox says what may wait). */
  at<T>(priority: SlackPriority, work: () => Promise<T>): Promise<T> {
    return this.priority.run(priority, work);
  }

  /**
   * Sends `send` when Slack's limits allow; after a 429, again once its Retry-After has passed. What
   * it returns is Slack's last answer (a 429 only after MAX_RATE_LIMITED_TRIES). Each call is sent
   * by its own caller, so whoever waits on it is seen waiting on it.
   */
  async run(call: PacedCall, send: () => Promise<Response>): Promise<Response> {
    const rank = RANK[this.priority.getStore() ?? 'normal'];
    const lane = laneOf(call);
    if (!lane)
      return this.paced(
        call,
        () => send,
        () => rank,
      );
    const rest = this.deps.rest ?? ((waiting) => waiting);
    const queue = this.lanes.get(lane.key) ?? [];
    this.lanes.set(lane.key, queue);
    // What waits ahead in the lane goes at this call's priority if that is higher: it cannot wait
    // behind them anyway.
    for (const ahead of queue) {
      if (ahead.sent || ahead.rank <= rank) continue;
      ahead.rank = rank;
      ahead.raised?.();
    }
    const last = queue.at(-1);
    if (lane.coalesce && last && !last.sent) {
      last.send = send;
      this.coalescedCount += 1;
      return rest(new Promise<Response>((resolve, reject) => last.waiters.push({ resolve, reject })));
    }
    let takeTurn = () => {};
    const turn = new Promise<void>((resolve) => {
      takeTurn = resolve;
    });
    const entry: Queued = { send, rank, sent: false, waiters: [], turn, takeTurn };
    queue.push(entry);
    if (queue.length === 1) entry.takeTurn();
    try {
      await rest(Promise.race([entry.turn, this.stopped]));
      // Until its slot comes the entry may still be replaced by a newer edit of the same message.
      const response = await this.paced(
        call,
        () => {
          entry.sent = true;
          return entry.send;
        },
        () => entry.rank,
        (wake) => {
          entry.raised = wake;
        },
      );
      // Each replaced caller reads its own copy of the answer (a body is read once).
      for (const waiter of entry.waiters) waiter.resolve(response.clone());
      return response;
    } catch (error) {
      for (const waiter of entry.waiters) waiter.reject(error);
      throw error;
    } finally {
      // Out of its lane; if it was the one going, the next takes its turn.
      const at = queue.indexOf(entry);
      if (at >= 0) queue.splice(at, 1);
      if (at === 0) queue[0]?.takeTurn();
      if (queue.length === 0 && this.lanes.get(lane.key) === queue) this.lanes.delete(lane.key);
    }
  }

  /**
   * `sending()` is asked for the call to make each time a slot comes (it may have been replaced),
   * and `rank()` for its priority (it may have been raised).
   */
  private async paced(
    call: PacedCall,
    sending: () => () => Promise<Response>,
    rank: () => number,
    onRaise: (wake: () => void) => void = () => {},
  ): Promise<Response> {
    const windows = this.windowsOf(call);
    // A 429 is taken as the narrowest limit's: a full workspace window shows as 429s in every channel.
    const pauseKey = windows.at(-1)?.[0] ?? call.method;
    for (let tries = 1; ; tries += 1) {
      await this.slot(windows, rank, onRaise);
      const response = await sending()();
      if (response.status !== 429) return response;
      this.rateLimitedCount += 1;
      const retryAfterMs = retryAfterOf(response) * 1000;
      this.deps.logger.warn('Slack answered 429; the call waits its Retry-After', {
        method: call.method,
        retryAfterMs,
        tries,
      });
      if (tries >= MAX_RATE_LIMITED_TRIES) return response;
      await response.body?.cancel().catch(() => undefined);
      const until = this.deps.clock.now() + retryAfterMs;
      this.pausedUntil.set(pauseKey, Math.max(this.pausedUntil.get(pauseKey) ?? 0, until));
    }
  }

  /**
   * Waits until every window has room for a call of its rank (and no pause holds) and no call of a
   * higher rank waits for the same window, then counts the call in each.
   */
  private async slot(
    windows: Array<[string, CallWindow]>,
    rankOf: () => number,
    onRaise: (wake: () => void) => void,
  ): Promise<void> {
    const { clock } = this.deps;
    let rank = rankOf();
    this.join(windows, rank, 1);
    try {
      for (;;) {
        if (rankOf() !== rank) {
          this.join(windows, rank, -1);
          rank = rankOf();
          this.join(windows, rank, 1);
        }
        const now = clock.now();
        let wait = 0;
        for (const [key, window] of windows) {
          wait = Math.max(wait, (this.pausedUntil.get(key) ?? 0) - now, this.roomIn(key, window, now, rank));
        }
        const outranked = windows.some(([key]) => this.waitingAbove(key, rank));
        if (wait <= 0 && !outranked) break;
        if (this.closed) await this.stopped;
        // Outranked: wait until a call ahead moves (or the time comes, if there is none yet). A
        // raised rank looks again at once.
        const moved = outranked ? this.nextMove() : new Promise<never>(() => {});
        const raised = new Promise<void>((resolve) => onRaise(resolve));
        await Promise.race([wait > 0 ? clock.sleep(wait) : moved, moved, raised, this.stopped]);
      }
    } finally {
      this.join(windows, rank, -1);
      for (const wake of this.moved.splice(0)) wake();
    }
    const now = clock.now();
    for (const [key] of windows) {
      const calls = this.recent.get(key) ?? [];
      calls.push(now);
      this.recent.set(key, calls);
      const paused = this.pausedUntil.get(key);
      if (paused !== undefined && paused <= now) this.pausedUntil.delete(key);
    }
  }

  /**
   * Whether a call of `priority` would go at once: its windows have room for it, nothing pauses
   * them, nothing of its rank or higher waits for them and nothing waits in its lane. For writes
   * that would rather be folded into a later one than wait in line (a progress message).
   */
  hasRoom(call: PacedCall, priority: SlackPriority): boolean {
    const rank = RANK[priority];
    const lane = laneOf(call);
    if (lane && (this.lanes.get(lane.key)?.length ?? 0) > 0) return false;
    const now = this.deps.clock.now();
    return this.windowsOf(call).every(
      ([key, window]) =>
        (this.pausedUntil.get(key) ?? 0) <= now &&
        !this.waitingAbove(key, rank + 1) &&
        this.roomIn(key, window, now, rank) <= 0,
    );
  }

  /** The windows a call counts in: its method's in the workspace, and in its channel where Slack has one. */
  private windowsOf(call: PacedCall): Array<[string, CallWindow]> {
    const limit = this.limitOf(call.method);
    const windows: Array<[string, CallWindow]> = [[call.method, limit.workspace]];
    if (limit.perChannel && call.channel) windows.push([`${call.method}#${call.channel}`, limit.perChannel]);
    return windows;
  }

  private join(windows: Array<[string, CallWindow]>, rank: number, by: 1 | -1): void {
    for (const [key] of windows) {
      const counts = this.waiting.get(key) ?? [0, 0, 0];
      counts[rank] = (counts[rank] ?? 0) + by;
      if (counts.every((n) => n === 0)) this.waiting.delete(key);
      else this.waiting.set(key, counts);
    }
  }

  private waitingAbove(key: string, rank: number): boolean {
    const counts = this.waiting.get(key);
    return counts ? counts.slice(0, rank).some((n) => n > 0) : false;
  }

  private nextMove(): Promise<void> {
    return new Promise((resolve) => this.moved.push(resolve));
  }

  /**
   * How long until `key` may take a call of `rank` under `window` (0: now); background calls count
   * against part of the window only. Forgets calls out of the window.
   */
  private roomIn(key: string, window: CallWindow, now: number, rank: number): number {
    const calls = this.recent.get(key);
    if (!calls) return 0;
    const span = window.windowMs + WINDOW_MARGIN_MS;
    while (calls.length > 0 && (calls[0] ?? 0) <= now - span) calls.shift();
    if (calls.length === 0) this.recent.delete(key);
    const limit =
      rank === RANK.background ? Math.max(1, Math.floor(window.limit * BACKGROUND_SHARE)) : window.limit;
    if (calls.length < limit) return 0;
    return (calls[calls.length - limit] ?? now) + span - now;
  }

  private limitOf(method: string): MethodLimit {
    const limit = SLACK_METHOD_LIMITS[method] ?? UNLISTED_METHOD;
    const scale = this.deps.scale ?? 1;
    if (scale === 1) return limit;
    const scaled = (window: CallWindow) => ({ ...window, limit: window.limit * scale });
    return {
      workspace: scaled(limit.workspace),
      ...(limit.perChannel ? { perChannel: scaled(limit.perChannel) } : {}),
    };
  }
}

/** Slack's Retry-After, in seconds (at least 1: a 429 without one is still a reason to wait). */
function retryAfterOf(response: Response): number {
  const seconds = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 1;
}
