import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DEFAULT_LIVE_LIMITS } from '../../src/limits/rate-limiter.js';
import type { SessionRecord } from '../../src/store/index.js';
import { type Harness, joinWorkspace } from '../support/harness.js';
import { eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 19, item 4: at most 3 live sessions per person (and N per agent) by default; past that a run
 * is refused with the person's live sessions and a Stop for each, and nothing starts.
 */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness({ liveLimits: DEFAULT_LIVE_LIMITS });
});
afterAll(() => h.close());

const sessionsAtAnthropic = () => h.sandbox.managedAgents.sessions().length;
const live = async (userId: string) =>
  (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:${userId}`, 100)).filter(
    (s) => s.status === 'running' || s.status === 'waiting',
  );

/** `/agent run` as Slack sends it; the private reply it gets. */
async function runReply(userId: string, text: string): Promise<{ text: string; blocks: unknown[] }> {
  const sent = await h.driver.command(userId, `run ${text}`, { channelId: 'C_GENERAL' });
  const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
  await h.settle();
  return { text: String(reply.body.text), blocks: (reply.body.blocks as unknown[]) ?? [] };
}

describe('live sessions per person', () => {
  let waiting: SessionRecord[] = [];

  test('a fourth run while three wait for decisions is refused with the three and a Stop for each; nothing starts', async () => {
    for (const title of ['One', 'Two', 'Three'])
      expect(
        (await runAgent(h, 'U_ALICE', `--agent asker create a page titled ${title}`)).session,
      ).toBeDefined();
    waiting = await live('U_ALICE');
    expect(waiting.map((s) => s.status)).toEqual(['waiting', 'waiting', 'waiting']);
    const before = sessionsAtAnthropic();
    const refused = await runReply('U_ALICE', '--agent reader search one more');
    expect(refused.text).toContain('You have 3 sessions live, the most at once, so nothing was started');
    const stops = JSON.stringify(refused.blocks).match(
      /"action_id":"session_stop_live","value":"(sesn_\w+)"/g,
    );
    expect(stops).toHaveLength(3);
    for (const session of waiting) expect(JSON.stringify(refused.blocks)).toContain(session.sessionId);
    expect(sessionsAtAnthropic()).toBe(before);
    // Bob is not held back by Alice's sessions.
    expect((await runAgent(h, 'U_BOB', '--agent reader search for bob')).session).toBeDefined();
  });

  test('Stop on that list stops the session (only for its own person); its slot comes back and the next run starts', async () => {
    const [first] = waiting;
    if (!first) throw new Error('no session');
    const stop = (userId: string) =>
      h.driver.blockAction(
        userId,
        { actionId: 'session_stop_live', value: first.sessionId },
        { channelId: first.dmChannelId, messageTs: first.threadTs },
      );
    await stop('U_BOB');
    await h.settle();
    expect(eventsSent(h, first.sessionId, 'user.interrupt')).toEqual([]);
    await stop('U_ALICE');
    await h.settle();
    expect(eventsSent(h, first.sessionId, 'user.interrupt')).toHaveLength(1);
    expect((await live('U_ALICE')).map((s) => s.sessionId)).not.toContain(first.sessionId);
    expect((await runAgent(h, 'U_ALICE', '--agent reader search after a stop')).session).toBeDefined();
  });

  test('runs at once for the last slot: exactly one starts', async () => {
    // Alice has two waiting now, and one slot left; three runs race for it.
    const [, second, third] = waiting;
    expect((await live('U_ALICE')).map((s) => s.sessionId).sort()).toEqual(
      [second?.sessionId, third?.sessionId].sort(),
    );
    const before = sessionsAtAnthropic();
    const replies = await Promise.all(
      ['A', 'B', 'C'].map((t) => runReply('U_ALICE', `--agent asker create a page titled Race ${t}`)),
    );
    expect(replies.filter((r) => r.text.includes('sessions live, the most at once'))).toHaveLength(2);
    expect(sessionsAtAnthropic()).toBe(before + 1);
  });

  test('a reply that would wake a rested session past the limit is not sent', async () => {
    const rested = (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:U_ALICE`, 100)).find(
      (s) => s.status === 'idle',
    );
    if (!rested) throw new Error('no rested session');
    const sent = eventsSent(h, rested.sessionId, 'user.message').length;
    await h.driver.message('U_ALICE', 'search once more', {
      channelId: rested.dmChannelId,
      threadTs: rested.threadTs,
    });
    await h.settle();
    expect(eventsSent(h, rested.sessionId, 'user.message')).toHaveLength(sent);
    await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) =>
        c.body.user === 'U_ALICE' && String(c.body.text).includes('your message was not sent to the agent'),
    );
  });

  test('"Run without them" is held to the limit as any run is', async () => {
    joinWorkspace(h, 'U_CAROL');
    const sent = await h.driver.command('U_CAROL', 'run --agent reader search without notion');
    const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
    const blocks = (reply.body.blocks ?? []) as Array<{
      elements?: Array<{ action_id?: string; value?: string }>;
    }>;
    const intentId =
      blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'session_run_without')?.value ?? '';
    // Carol's three slots are held by starts under way (just taken, so never taken back).
    const key = `P#T:${h.sandbox.slack.teamId}:U_CAROL`;
    for (const starting of ['intent_a', 'intent_b', 'intent_c'])
      await h.store.liveSlots.take(key, starting, 100, h.clock.now());
    const before = sessionsAtAnthropic();
    const ephemeral = h.sandbox.slack.ephemerals('U_CAROL').at(-1);
    const clicked = await h.driver.blockAction(
      'U_CAROL',
      { actionId: 'session_run_without', value: intentId },
      { channelId: ephemeral?.channel, messageTs: ephemeral?.ts },
    );
    const answer = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === clicked.responseUrl);
    expect(String(answer.body.text)).toContain('sessions live, the most at once, so nothing was started');
    await h.settle();
    expect(sessionsAtAnthropic()).toBe(before);
  });

  test('a slot whose session is no longer live is taken back before refusing; one not yet seen is kept', async () => {
    const key = `P#T:${h.sandbox.slack.teamId}:U_BOB`;
    // Slots of starts nobody can find: taken a day and more ago (their intents expired), and just now.
    for (const ghost of ['intent_gone_1', 'intent_gone_2'])
      await h.store.liveSlots.take(key, ghost, 100, h.clock.now() - 26 * 60 * 60 * 1000);
    await h.store.liveSlots.take(key, 'intent_just_now', 100, h.clock.now());
    expect(
      (await runAgent(h, 'U_BOB', '--agent asker create a page titled Past ghosts')).session,
    ).toBeDefined();
    const held = (await h.store.liveSlots.held(key)).map((s) => s.slot);
    expect(held).not.toContain('intent_gone_1');
    expect(held).toContain('intent_just_now');
  });
});
