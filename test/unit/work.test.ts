import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { Work } from '../../src/work.js';

const quiet = createLogger({ level: 'error', write: () => {} });

/** Whether `promise` has settled by the time the event loop has turned once. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('work the runtime has started', () => {
  test('settled() waits for running work, not for work that sleeps on the clock', async () => {
    const work = new Work(quiet);
    const manual = new ManualClock(0);
    const clock = work.clock(manual);
    let release: () => void = () => {};
    const running = work.track(() => new Promise<void>((resolve) => (release = resolve)));
    expect(await settledYet(work.settled())).toBe(false);
    release();
    await running;
    expect(await settledYet(work.settled())).toBe(true);

    let afterSleep = false;
    const sleeper = work.track(async () => {
      await clock.sleep(1000);
      afterSleep = true;
    });
    expect(await settledYet(work.settled())).toBe(true);
    expect(afterSleep).toBe(false);
    manual.advance(1000);
    await sleeper;
    expect(afterSleep).toBe(true);
  });

  test('what a timer runs is work of its own, counted until it ends', async () => {
    const work = new Work(quiet);
    const manual = new ManualClock(0);
    let release: () => void = () => {};
    work.clock(manual).setTimeout(() => new Promise<void>((resolve) => (release = resolve)), 10);
    manual.advance(10);
    expect(work.busy).toBe(true);
    expect(await settledYet(work.settled())).toBe(false);
    release();
    expect(await settledYet(work.settled())).toBe(true);
  });
});
