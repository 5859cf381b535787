/** A pending timer; cancelling one that already ran does nothing. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as the app sees it: the current time, timers and sleeps. Injected everywhere so tests move
 * time instead of waiting for it (an approval's expiry, a lease, a retry's pause), and so nothing in
 * the app waits on a timer of its own.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `run` once `ms` have passed (what it returns, a promise say, is not awaited here). */
  setTimeout(run: () => unknown, ms: number): Timer;
  setInterval(run: () => unknown, ms: number): Timer;
  sleep(ms: number): Promise<void>;
}

/** Real time. Its timers never keep the process alive on their own: a stop is always explicit. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(run, ms) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  setInterval(run, ms) {
    const timer = setInterval(run, ms);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
  sleep: (ms) =>
    new Promise((resolve) => {
      setTimeout(resolve, ms).unref();
    }),
};

interface ScheduledTimer {
  due: number;
  run: () => unknown;
  /** Set for intervals: rescheduled this far after each run. */
  every?: number;
}

/**
 * A clock that stands where a test puts it. Its timers run only when the test moves it past them,
 * in the order they fall due; like Node's own timers when the event loop was held up, an interval
 * that fell due several times in one move runs once and is rescheduled from the new time.
 */
export class ManualClock implements Clock {
  private readonly timers = new Set<ScheduledTimer>();

  constructor(private current: number = Date.now()) {}

  now(): number {
    return this.current;
  }

  setTimeout(run: () => unknown, ms: number): Timer {
    return this.schedule({ due: this.current + Math.max(0, ms), run });
  }

  setInterval(run: () => unknown, ms: number): Timer {
    const every = Math.max(1, ms);
    return this.schedule({ due: this.current + every, run, every });
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Moves the clock forward and runs every timer that falls due on the way. */
  advance(ms: number): void {
    this.set(this.current + ms);
  }

  /** Moves the clock to `ms` (never backwards for timers: only those due by then run). */
  set(ms: number): void {
    this.current = ms;
    const due = [...this.timers].filter((t) => t.due <= ms).sort((a, b) => a.due - b.due);
    for (const timer of due) {
      if (timer.every) timer.due = ms + timer.every;
      else this.timers.delete(timer);
      timer.run();
    }
  }

  /** How many timers are waiting to run (tests check that work waits on time, not on something else). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  private schedule(timer: ScheduledTimer): Timer {
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }
}

/** Thrown by `withDeadline` when the work did not finish in time. */
export class DeadlinePassed extends Error {
  constructor(what: string) {
    super(`${what} took too long`);
    this.name = 'DeadlinePassed';
  }
}

/** `work`, unless `ms` pass on `clock` first: then DeadlinePassed (the work itself is not stopped). */
export function withDeadline<T>(clock: Clock, work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new DeadlinePassed(what)), ms);
  });
  return Promise.race([work, late]).finally(() => timer?.cancel());
}
