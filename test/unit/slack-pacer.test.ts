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
