import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock, Timer } from './clock.js';
import type { Logger } from './logger.js';

interface Unit {
  /** How many waits of this unit are for time or the outside world rather than for its own work. */
  resting: number;
}

/**
 * The work the runtime has started and not finished: listener work after Slack's ack, relays
 * writing session events, sweeps. A unit that waits only on time (a clock sleep or timer) or on the
 * outside world (a relay waiting for the session's next event) rests meanwhile.
 *
 * `settled()` is how a shutdown drains and how tests wait for a request's effects, instead of
 * sleeping: it resolves once every unit rests or has ended.
 */
export class Work {
  private readonly units = new Set<Unit>();
  private readonly context = new AsyncLocalStorage<Unit>();
  private waiters: Array<() => void> = [];
  private sleepers = 0;

  constructor(private readonly logger: Logger) {}

  /** Runs `work` as one unit, counted until it ends. */
  track<T>(work: () => Promise<T>): Promise<T> {
    const unit: Unit = { resting: 0 };
    this.units.add(unit);
    this.changed();
    return this.context.run(unit, async () => {
      try {
        return await work();
      } finally {
        this.units.delete(unit);
        this.changed();
      }
    });
  }

  /** Awaits `promise` with the current unit resting: it waits on time or on the outside world. */
  async resting<T>(promise: Promise<T>): Promise<T> {
    const unit = this.context.getStore();
    if (!unit) return promise;
    unit.resting += 1;
    this.changed();
    try {
      return await promise;
    } finally {
      unit.resting -= 1;
      this.changed();
    }
  }

  /** How many sleeps on the clock are under way: work that goes on only once time passes. */
  get sleeping(): number {
    return this.sleepers;
  }

  /** How many units have started and not ended (busy or resting). */
  get inFlight(): number {
    return this.units.size;
  }

  /** Whether any unit is doing something now (not resting). */
  get busy(): boolean {
    for (const unit of this.units) if (unit.resting === 0) return true;
    return false;
  }

  /** Resolves once nothing is busy, checked again after a turn of the event loop (work chains its next step). */
  async settled(): Promise<void> {
    for (;;) {
      while (this.busy) await this.nextChange();
      await new Promise((resolve) => setImmediate(resolve));
      if (!this.busy) return;
    }
  }

  /** Resolves at the next start, end or rest of any unit. */
  nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * The clock as work sees it: sleeps rest the unit that sleeps, and what a timer runs is a unit of
   * its own. Every service is given this clock, so waiting on time never counts as being busy.
   */
  clock(base: Clock): Clock {
    const run = (task: () => unknown) => () => {
      this.track(async () => {
        await task();
      }).catch((error: unknown) => this.logger.error('timed work failed', { error: String(error) }));
    };
    return {
      now: () => base.now(),
      setTimeout: (task, ms): Timer => base.setTimeout(run(task), ms),
      setInterval: (task, ms): Timer => base.setInterval(run(task), ms),
      sleep: async (ms) => {
        this.sleepers += 1;
        try {
          await this.resting(base.sleep(ms));
        } finally {
          this.sleepers -= 1;
        }
      },
    };
  }

  private changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/**
 * How long after the last Slack request arrived work that can wait still waits (a burst's
 * stragglers, still in the kernel or on their way, are answered first), and the longest it waits so
 * while requests keep arriving. Measured with `npm run bench:load`: without the quiet window a
 * burst's late requests queued behind work started between its early ones (ack p99 1.9 s at 50).
 */
export const ACK_QUIET_MS = 20;
export const ACK_MAX_HOLD_MS = 500;

/**
 * Slack deliveries that have not had their ack yet. Work that can wait (a delivery's work after its
 * ack, a relay's next event) waits while any has not, and until no request has arrived for
 * `quietMs` (at most `maxHoldMs` from the first): Slack gives an ack 3 seconds, and a burst of
 * requests is answered first, then worked through (docs/architecture.md#bounded-work).
 */
export class AckGate {
  private unacked = 0;
  private waiters: Array<() => void> = [];
  private lastArrivalMs = Number.NEGATIVE_INFINITY;
  /** When the gate last closed after being open: the hold ends `maxHoldMs` after it at the latest. */
  private heldSinceMs: number | undefined;
  private timer: Timer | undefined;

  /** Without a clock the gate opens as soon as every delivery has had its ack. */
  constructor(private readonly quiet?: { clock: Clock; quietMs: number; maxHoldMs: number }) {}

  /** A delivery arrived; it holds the gate until `acked` (once). */
  arrived(): () => void {
    if (this.quiet) {
      const now = this.quiet.clock.now();
      // Open until now: a new hold begins.
      if (this.open) this.heldSinceMs = now;
      this.lastArrivalMs = now;
    }
    this.unacked += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.unacked -= 1;
      this.check();
    };
  }

  /** Whether every delivery that arrived has had its ack, and none arrived within the quiet window. */
  get open(): boolean {
    return this.unacked === 0 && this.quietLeftMs() <= 0;
  }

  /** Resolves once the gate is open (at once if it is). */
  passed(): Promise<void> {
    if (this.open) return Promise.resolve();
    const passed = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.check();
    return passed;
  }

  /** How long until the quiet window (or the longest hold) ends, if nothing more arrives. */
  private quietLeftMs(): number {
    if (!this.quiet || this.heldSinceMs === undefined) return 0;
    const { clock, quietMs, maxHoldMs } = this.quiet;
    const opensAt = Math.min(this.lastArrivalMs + quietMs, this.heldSinceMs + maxHoldMs);
    return opensAt - clock.now();
  }

  /** Opens the gate for its waiters if it may open now; otherwise looks again when it may. */
  private check(): void {
    if (this.unacked > 0 || this.timer) return;
    const left = this.quietLeftMs();
    if (left > 0 && this.quiet) {
      this.timer = this.quiet.clock.setTimeout(() => {
        this.timer = undefined;
        this.check();
      }, left);
      return;
    }
    this.heldSinceMs = undefined;
    for (const wake of this.waiters.splice(0)) wake();
  }
}
