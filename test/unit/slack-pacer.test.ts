import { expect, test } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { SlackPacer } from '../../src/slack/rate-limits.js';

/** Lets promise callbacks and timers that are due run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('edits of one message waiting their turn go as one: the newest replaces those not yet sent', async () => {
  const clock = new ManualClock(0);
  const pacer = new SlackPacer({ clock, logger: createLogger({ level: 'error', write: () => {} }) });
  const sent: string[] = [];
  const answer =
    (label: string, status = 200) =>
    async () => {
      sent.push(label);
      return new Response(JSON.stringify({ ok: status === 200, label }), {
        status,
        headers: status === 429 ? { 'retry-after': '60' } : {},
      });
    };
  const edit = { method: 'chat.update', channel: 'D1', ts: '1.000001' };
  // The first edit meets a 429 and waits its Retry-After; three more edits of the message queue.
  let refused = true;
  const first = pacer.run(edit, async () => {
    const refusedNow = refused;
    refused = false;
    return answer('first', refusedNow ? 429 : 200)();
  });
  await turn();
  const later = ['second', 'third', 'fourth'].map((label) => pacer.run(edit, answer(label)));
  await turn();
  expect(pacer.coalesced).toBe(2);

  clock.advance(61_000);
  const answers = await Promise.all([first, ...later]);
  expect(sent).toEqual(['first', 'first', 'fourth']);
  // Each replaced caller reads the answer of the edit that went in its place.
  expect(
    await Promise.all(answers.slice(1).map(async (r) => ((await r.json()) as { label: string }).label)),
  ).toEqual(['fourth', 'fourth', 'fourth']);
  expect(pacer.rateLimited).toBe(1);
});

/** A pacer on a clock that stands still, and calls that answer ok and note the order they went in. */
function recordingPacer() {
  const clock = new ManualClock(0);
  const pacer = new SlackPacer({ clock, logger: createLogger({ level: 'error', write: () => {} }) });
  const sent: string[] = [];
  const ok = (label: string) => async () => {
    sent.push(label);
    return new Response('{"ok":true,"ts":"1.1"}');
  };
  return { clock, pacer, sent, ok };
}

test('with a window full, a decision card goes before progress that waited longer; progress uses only part of each window (issue 17)', async () => {
  const { clock, pacer, sent, ok } = recordingPacer();
  // chat.update is tier 3 (50 a minute): progress edits of 40 messages, in the background.
  const progress = Array.from({ length: 40 }, (_, i) =>
    pacer.at('background', () =>
      pacer.run({ method: 'chat.update', channel: 'D1', ts: `1.${i}` }, ok(`p${i}`)),
    ),
  );
  await turn();
  // Background calls stop at 60% of the window (30 of 50): the rest is kept for what people wait on.
  expect(sent).toHaveLength(30);
  // A decision's card edit and an ordinary edit arrive later; both go at once, into the room kept.
  const card = pacer.at('urgent', () =>
    pacer.run({ method: 'chat.update', channel: 'D2', ts: '2.0' }, ok('card')),
  );
  const answer = pacer.run({ method: 'chat.update', channel: 'D3', ts: '3.0' }, ok('answer'));
  await Promise.all([card, answer]);
  expect(sent.slice(30)).toEqual(['card', 'answer']);
  // The window full now (32 + 18 more normal calls): when room comes back, the urgent call that
  // arrived last goes before the progress that has waited a minute.
  const normal = Array.from({ length: 18 }, (_, i) =>
    pacer.run({ method: 'chat.update', channel: 'D4', ts: `4.${i}` }, ok(`n${i}`)),
  );
  await Promise.all(normal);
  const late = pacer.at('urgent', () =>
    pacer.run({ method: 'chat.update', channel: 'D5', ts: '5.0' }, ok('late card')),
  );
  await turn();
  expect(sent).not.toContain('late card');
  clock.advance(62_000);
  await late;
  expect(sent[50]).toBe('late card');
  clock.advance(62_000);
  await Promise.all(progress);
  expect(sent.filter((label) => label.startsWith('p'))).toHaveLength(40);
});

test('a post queued behind background progress in the same thread raises it: the answer does not wait on its priority (issue 17)', async () => {
  const { pacer, sent, ok } = recordingPacer();
  const post = (threadTs: string, channel = 'D1') => ({ method: 'chat.postMessage', channel, threadTs });
  // The workspace's postMessage window (200) is at its background share (120) already.
  await Promise.all(
    Array.from({ length: 120 }, (_, i) =>
      pacer.at('background', () => pacer.run(post('t', `D_OTHER${i}`), ok(`filler${i}`))),
    ),
  );
  const progressLine = pacer.at('background', () => pacer.run(post('thread'), ok('progress')));
  await turn();
  expect(sent).not.toContain('progress');
  // The answer follows in the same thread: the progress ahead of it goes now, then the answer.
  await pacer.run(post('thread'), ok('answer'));
  await progressLine;
  expect(sent.slice(-2)).toEqual(['progress', 'answer']);
});

test('a progress message asks first whether it would go now: not once background calls used their part of the window, nor with a post waiting in its thread (issue 17)', async () => {
  const { clock, pacer, ok } = recordingPacer();
  const post = { method: 'chat.postMessage', channel: 'D1', threadTs: '1.000001' };
  expect(pacer.hasRoom(post, 'background')).toBe(true);
  // chat.postMessage is kept to 200 a minute here; background calls may use 120 of them.
  await Promise.all(
    Array.from({ length: 120 }, (_, i) =>
      pacer.at('background', () =>
        pacer.run({ method: 'chat.postMessage', channel: `D${i + 10}` }, ok(`p${i}`)),
      ),
    ),
  );
  expect(pacer.hasRoom(post, 'background')).toBe(false);
  // An answer still would: the rest of the window is kept for what people wait on.
  expect(pacer.hasRoom(post, 'normal')).toBe(true);
  // Posts waiting in the thread (its channel takes 5 in 5 s): a new one would queue behind them.
  const posts = Array.from({ length: 6 }, (_, i) => pacer.run(post, ok(`answer ${i}`)));
  await turn();
  expect(pacer.hasRoom(post, 'normal')).toBe(false);
  expect(pacer.hasRoom({ ...post, threadTs: '2.000002' }, 'normal')).toBe(false);
  clock.advance(6_000);
  await Promise.all(posts);
  expect(pacer.hasRoom(post, 'normal')).toBe(true);
});
