import { describe, expect, test } from '@jest/globals';
import { DeadlinePassed, ManualClock, withDeadline } from '../../src/clock.js';

describe('the manual clock', () => {
  test('timers run only when the clock passes them, in the order they fall due', () => {
    const clock = new ManualClock(1000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push('b'), 20);
    clock.setTimeout(() => ran.push('a'), 10);
    const cancelled = clock.setTimeout(() => ran.push('never'), 5);
    cancelled.cancel();
    clock.advance(9);
    expect(ran).toEqual([]);
    clock.advance(11);
    expect(ran).toEqual(['a', 'b']);
    expect(clock.now()).toBe(1020);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an interval that fell due several times in one move runs once, then again from the new time', () => {
    const clock = new ManualClock(0);
    let runs = 0;
    const interval = clock.setInterval(() => {
      runs += 1;
    }, 30_000);
    clock.advance(16 * 60 * 1000);
    expect(runs).toBe(1);
    clock.advance(29_999);
    expect(runs).toBe(1);
    clock.advance(1);
    expect(runs).toBe(2);
    interval.cancel();
    clock.advance(60_000);
    expect(runs).toBe(2);
  });

  test('a sleep ends when the clock moves past it, and a deadline fails only when its time has passed', async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const sleeping = clock.sleep(100).then(() => {
      woke = true;
    });
    clock.advance(99);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await sleeping;
    expect(woke).toBe(true);

    const never = new Promise<never>(() => {});
    const late = withDeadline(clock, never, 2000, 'the answer');
    clock.advance(1999);
    clock.advance(1);
    await expect(late).rejects.toBeInstanceOf(DeadlinePassed);
    await expect(withDeadline(clock, Promise.resolve('in time'), 2000, 'the answer')).resolves.toBe(
      'in time',
    );
    expect(clock.pendingTimers).toBe(0);
  });
});
