import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { DeliveryQueue } from '../../src/ingress/delivery-queue.js';
import { AckGate } from '../../src/work.js';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * Issue 13, bounded work: work after the ack runs through a bounded queue per process, and beyond its
 * bound new work is refused at once with a message to try again.
 */

const BUSY = /Deputy is busy right now/;

describe('the delivery queue', () => {
  test('runs at most `running` at once, in arrival order, and refuses past running + waiting', async () => {
    const queue = new DeliveryQueue({ running: 1, waiting: 1 });
    const first = queue.enter();
    const second = queue.enter();
    expect(queue.enter()).toBeUndefined();
    expect(queue.refusedSoFar).toBe(1);
    await first?.run();
    let secondRuns = false;
    const waiting = second?.run().then(() => {
      secondRuns = true;
    });
    await Promise.resolve();
    expect(secondRuns).toBe(false);
    first?.leave();
    await waiting;
    expect(secondRuns).toBe(true);
    // A place given back twice frees one place only.
    second?.leave();
    second?.leave();
    expect(queue.inFlight).toBe(0);
    expect(queue.enter()).toBeDefined();
  });

  test('a place given back takes no slot on a late run, and idle() resolves once every place is back', async () => {
    const queue = new DeliveryQueue({ running: 1, waiting: 1 });
    const first = queue.enter();
    const second = queue.enter();
    let idle = false;
    const becameIdle = queue.idle().then(() => {
      idle = true;
    });
    first?.leave();
    await first?.run();
    await second?.run();
    expect(idle).toBe(false);
    second?.leave();
    await becameIdle;
    expect(queue.inFlight).toBe(0);
  });

  test('a delivery that leaves while waiting gives its place back without taking a slot', async () => {
    const queue = new DeliveryQueue({ running: 1, waiting: 1 });
    const runner = queue.enter();
    const waiter = queue.enter();
    await runner?.run();
    void waiter?.run();
    waiter?.leave();
    runner?.leave();
    const next = queue.enter();
    await next?.run();
    expect(queue.inFlight).toBe(1);
  });
});

test('acks first: work after one delivery’s ack waits while another request has not had its answer (issue 17)', async () => {
  const acks = new AckGate();
  const queue = new DeliveryQueue({ running: 8, waiting: 8 }, acks);
  const acked = queue.enter();
  // Another Slack request has arrived (the HTTP front counts it before reading its body).
  const answered = acks.arrived();
  let runs = false;
  const running = acked?.run().then(() => {
    runs = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(runs).toBe(false);
  // Slack has its answer (its ack, or the empty one at the deadline): the work goes on.
  answered();
  await running;
  expect(runs).toBe(true);
  acked?.leave();
});

test('acks first: work waits until no request has arrived for the quiet window, and no longer than the longest hold while they keep coming (issue 17)', async () => {
  const clock = new ManualClock(0);
  const acks = new AckGate({ clock, quietMs: 20, maxHoldMs: 100 });
  let opened = 0;
  const waitForGate = () =>
    void acks.passed().then(() => {
      opened += 1;
    });
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  // One request, answered: its burst's stragglers may still be on their way.
  acks.arrived()();
  waitForGate();
  await turn();
  expect(acks.open).toBe(false);
  clock.advance(19);
  await turn();
  expect(opened).toBe(0);
  // A straggler within the window starts it again.
  acks.arrived()();
  clock.advance(19);
  await turn();
  expect(opened).toBe(0);
  clock.advance(1);
  await turn();
  expect(opened).toBe(1);
  expect(acks.open).toBe(true);
  // Requests that never stop coming (every 10 ms) hold work back at most maxHoldMs from the first.
  const heldAt = clock.now();
  acks.arrived()();
  waitForGate();
  while (opened === 1) {
    clock.advance(10);
    await turn();
    if (opened === 1) acks.arrived()();
  }
  expect(clock.now() - heldAt).toBe(100);
});

describe('a burst of commands through the HTTP surface', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ deliveryLimits: { running: 2, waiting: 3 } });
  });
  afterAll(() => h.close());

  test('beyond running + waiting, commands are refused in their ack; the rest run two at a time', async () => {
    const slack = h.sandbox.slack;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = 0;
    slack.hold(
      'response_url',
      () => {
        arrived += 1;
        return released;
      },
      100,
    );
    const burst = await Promise.all(Array.from({ length: 10 }, () => h.driver.command('U_ALICE', 'status')));
    const refused = burst.filter((r) => BUSY.test(r.text));
    const taken = burst.filter((r) => r.text === '');
    expect(burst.map((r) => r.status)).toEqual(burst.map(() => 200));
    expect(refused).toHaveLength(5);
    expect(taken).toHaveLength(5);
    // The five taken were answered at once; two replies are on their way, three wait for a slot.
    await waitUntil(() => arrived === 2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(arrived).toBe(2);
    release();
    await h.settle();
    expect(arrived).toBe(5);
    const replies = slack.calls.filter((c) => c.method === 'response_url' && c.status === 200);
    expect(replies.map((c) => c.body.url).sort()).toEqual(taken.map((r) => r.responseUrl).sort());
    // With the burst over, the next command is taken again.
    const after = await h.driver.command('U_ALICE', 'status');
    expect(after.text).toBe('');
    await h.settle();
  });

  test('an event refused as busy gets a 429, so Slack delivers it again later', async () => {
    const slack = h.sandbox.slack;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    slack.hold('response_url', () => released, 100);
    const commands = Promise.all(Array.from({ length: 5 }, () => h.driver.command('U_ALICE', 'status')));
    await waitUntil(() => h.services.work.inFlight >= 5);
    const event = await h.driver.event({
      type: 'app_home_opened',
      user: 'U_ALICE',
      channel: 'D_ALICE',
      tab: 'home',
    });
    expect(event.status).toBe(429);
    expect(event.headers.get('retry-after')).toBe('60');
    release();
    await commands;
    await h.settle();
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns += 1) {
    if (turns > 10_000) throw new Error('the condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
