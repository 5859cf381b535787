import { AckGate } from '../work.js';

/**
 * How much Slack work one process takes on at once. A delivery holds a place from its arrival until
 * its listeners end; past the ack its work runs only while it holds one of `running` slots, the
 * rest waiting in arrival order. With every place taken, a new delivery is refused at once (and told
 * to try again) instead of queueing without bound: a burst then costs a refusal each, not memory and
 * a backlog of storage calls.
 */
export interface DeliveryLimits {
  /** Deliveries whose work after the ack runs at the same time. */
  running: number;
  /** Deliveries admitted beyond those, waiting for a slot (or still before their ack). */
  waiting: number;
}

/**
 * Measured with `npm run fuzz` (3,000 concurrent `/agent status`, 2 cores shared with DynamoDB Local
 * and the emulators): 8 running slots answered every request within 2 s (p99) and ran 730 of them,
 * 32 ran 2,072 but answered the last ones after 7 s, past Slack's 3. Work after the ack competes with
 * the acks themselves for the one event loop, so fewer slots keep acks fast.
 */
export const DEFAULT_DELIVERY_LIMITS: DeliveryLimits = { running: 8, waiting: 504 };

export interface DeliveryPlace {
  /** Resolves once this delivery holds a running slot (at once when one is free). */
  run(): Promise<void>;
  /** Gives the place (and its slot, if it held one) back; safe to call more than once. */
  leave(): void;
}

export class DeliveryQueue {
  private admitted = 0;
  private running = 0;
  private refused = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  /** Waiting for the acks to pass before giving slots. */
  private granting = false;

  constructor(
    private readonly limits: DeliveryLimits = DEFAULT_DELIVERY_LIMITS,
    /** Slack requests not yet answered (the HTTP front counts them): a slot waits for none (acks first). */
    private readonly acks: AckGate = new AckGate(),
  ) {}

  /** A place for one delivery, or undefined when every place is taken. */
  enter(): DeliveryPlace | undefined {
    if (this.admitted >= this.limits.running + this.limits.waiting) {
      this.refused += 1;
      return undefined;
    }
    this.admitted += 1;
    let state: 'admitted' | 'waiting' | 'running' | 'left' = 'admitted';
    let wake: (() => void) | undefined;
    let started: Promise<void> | undefined;
    return {
      run: () => {
        // A place given back holds nothing: a late ack must not take a slot nobody will return.
        if (state === 'left') return Promise.resolve();
        started ??= new Promise<void>((resolve) => {
          state = 'waiting';
          wake = () => {
            state = 'running';
            resolve();
          };
          this.waiters.push(wake);
          this.grant();
        });
        return started;
      },
      leave: () => {
        if (state === 'left') return;
        if (state === 'running') this.release();
        if (state === 'waiting' && wake) this.waiters.splice(this.waiters.indexOf(wake), 1);
        state = 'left';
        this.admitted -= 1;
        if (this.admitted === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      },
    };
  }

  /** Deliveries admitted and not yet ended. */
  get inFlight(): number {
    return this.admitted;
  }

  /**
   * Resolves once no delivery holds a place: at a stop, events Slack already had its 200 for (and
   * that wait for a slot before any work is counted) still run.
   */
  idle(): Promise<void> {
    if (this.admitted === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deliveries refused because every place was taken, since the process started. */
  get refusedSoFar(): number {
    return this.refused;
  }

  private release(): void {
    this.running -= 1;
    this.grant();
  }

  /**
   * Gives free slots to the deliveries waiting, in arrival order, once every delivery has had its
   * ack: work after an ack never delays another delivery's ack (a burst is answered first).
   */
  private grant(): void {
    if (!this.acks.open) {
      if (!this.granting) {
        this.granting = true;
        // One turn of the event loop after the last ack: requests of the same burst still being
        // read are counted first.
        void this.acks.passed().then(() =>
          setImmediate(() => {
            this.granting = false;
            this.grant();
          }),
        );
      }
      return;
    }
    while (this.running < this.limits.running) {
      const next = this.waiters.shift();
      if (!next) return;
      this.running += 1;
      next();
    }
  }
}
