/** One request the emulator answered, successful or not. */
export interface RecordedCall {
  /** The Web API method name, or `response_url` for a post to a response_url. */
  method: string;
  token?: string;
  /** The arguments, with `blocks`/`attachments`/`view`/`metadata` JSON-parsed; for response_url also `url`. */
  body: Record<string, unknown>;
  /** Clock time (ms) when it was answered. */
  at: number;
  /** HTTP status answered. */
  status: number;
  /** What was answered: the JSON object, or the text body of a refused response_url post. */
  response: unknown;
  /** True when the answer came from injectError. */
  injected?: boolean;
}

interface Waiter {
  method: string;
  predicate: (call: RecordedCall) => boolean;
  resolve: (call: RecordedCall) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_WAIT_MS = 5000;

/** Every call, in order, and promises for calls still to come (the app acks before it calls Slack). */
export class CallLog {
  readonly calls: RecordedCall[] = [];
  private waiters: Waiter[] = [];

  record(call: RecordedCall): void {
    this.calls.push(call);
    for (const waiter of [...this.waiters]) {
      if (waiter.method === call.method && waiter.predicate(call))
        this.settle(waiter, () => waiter.resolve(call));
    }
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  waitFor(
    method: string,
    predicate: (call: RecordedCall) => boolean = () => true,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<RecordedCall> {
    const already = this.calls.find((c) => c.method === method && predicate(c));
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        method,
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          const seen = this.calls.map((c) => c.method).join(', ') || 'none';
          this.settle(waiter, () =>
            reject(
              new Error(
                `Slack emulator: no matching ${method} call within ${timeoutMs} ms (calls so far: ${seen})`,
              ),
            ),
          );
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  clear(): void {
    this.calls.length = 0;
  }

  /** Rejects every pending waitFor, so a closed emulator never leaves a test hanging. */
  rejectAll(reason: string): void {
    for (const waiter of [...this.waiters]) this.settle(waiter, () => waiter.reject(new Error(reason)));
  }

  private settle(waiter: Waiter, action: () => void): void {
    clearTimeout(waiter.timer);
    this.waiters = this.waiters.filter((w) => w !== waiter);
    action();
  }
}
