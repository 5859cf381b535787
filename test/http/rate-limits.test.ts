import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { View } from '@slack/types';
import { LIMITED_ACTIONS, limitBlockId, liveBlockId } from '../../src/blocks/limits.js';
import { DEFAULT_RATE_LIMITS } from '../../src/limits/rate-limiter.js';
import type { Services } from '../../src/services.js';
import type { LiveLimits, RateLimits } from '../../src/store/index.js';
import { connectLink } from '../support/connect.js';
import { type Harness, modalOpenedBy } from '../support/harness.js';
import { type Replica, startReplica } from '../support/replica.js';
import { eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 19, item 1: per-person rate limits, counted in DynamoDB so that replicas sharing the table
 * count together, enforced before anything happens, changed only by admins.
 */
let h: Harness;
let replica: Replica;
beforeAll(async () => {
  h = await startSessionsHarness({ environment: { DEPUTY_ADMINS: 'U_ADMIN' } });
  replica = await startReplica(h, { admins: ['U_ADMIN'] });
});
afterAll(async () => {
  await replica.close();
  await h.close();
});

const MINUTE = 60_000;
const alice = () => `T:${h.sandbox.slack.teamId}:U_ALICE`;
const sessionsAtAnthropic = () => h.sandbox.managedAgents.sessions().length;
/** Moves the clock to the start of the next hour, so each test starts with empty windows. */
function nextHour(): void {
  h.clock.advance(60 * MINUTE - (h.clock.now() % (60 * MINUTE)) + 1_000);
}

/** `/agent limits` as the admin sees it once filled. */
const limitsModal = (userId: string) => modalOpenedBy(h, userId, 'limits');

/** The live-session limits the sessions harness sets: far above what these tests run at once. */
const LIVE = { perPerson: 1000, perAgent: 1000 };
const number = (value: number) => ({ value: { type: 'number_input', value: String(value) } });

/** Submits the limits modal with `limits` as `userId`, on `view` (or a forged one). */
function submitLimits(userId: string, view: View | undefined, limits: RateLimits, live: LiveLimits = LIVE) {
  const privateMetadata = view?.private_metadata ?? JSON.stringify({ version: 0 });
  const stateValues = {
    ...Object.fromEntries(
      LIMITED_ACTIONS.flatMap((action) =>
        (['perMinute', 'perHour'] as const).map((per) => [
          limitBlockId(action, per),
          number(limits[action][per]),
        ]),
      ),
    ),
    [liveBlockId('perPerson')]: number(live.perPerson),
    [liveBlockId('perAgent')]: number(live.perAgent),
  };
  return h.driver.viewSubmission(userId, {
    callbackId: 'admin_limits',
    privateMetadata,
    stateValues,
  });
}

async function setLimits(limits: RateLimits): Promise<void> {
  const view = await limitsModal('U_ADMIN');
  const saved = await submitLimits('U_ADMIN', view, limits);
  expect(saved.status).toBe(200);
  await h.settle();
  expect((await h.store.settings.rateLimits())?.limits).toEqual(limits);
}

/** Settles every process, moving the clock while their work only waits on it (Slack's pace). */
async function drain(processes: Services[]): Promise<void> {
  for (let step = 0; step < 600; step += 1) {
    await h.settle(processes);
    if (processes.every((p) => p.work.sleeping === 0 && !p.work.busy)) return;
    h.clock.advance(1_000);
  }
  throw new Error('the processes did not settle');
}

describe('runs', () => {
  test('the 26th run in a minute is refused without any session created, across two replicas sharing one table', async () => {
    nextHour();
    const before = sessionsAtAnthropic();
    // 26 runs at once, half through each replica's HTTP surface.
    const sent = await Promise.all(
      Array.from({ length: 26 }, (_, i) =>
        (i % 2 === 0 ? h.driver : replica.driver).command('U_ALICE', `run --agent reader search burst ${i}`, {
          channelId: 'C_GENERAL',
        }),
      ),
    );
    await h.settle([h.services, replica.services]);
    const replies = await Promise.all(
      sent.map((s) => h.sandbox.slack.waitFor('response_url', (c) => c.body.url === s.responseUrl, 10_000)),
    );
    const refused = replies.filter((r) =>
      String(r.body.text).includes("You reached Deputy's limit of 25 runs a minute"),
    );
    expect(refused).toHaveLength(1);
    expect(String(refused[0]?.body.text)).toMatch(/nothing was started\. Try again in \d+ s\./);
    // Exactly 25 sessions exist at Anthropic: the refused run recorded and created nothing.
    expect(sessionsAtAnthropic()).toBe(before + 25);

    // A 27th is refused too, but reported only once: one audit record, one DM to each admin.
    const again = await h.driver.command('U_ALICE', 'run --agent reader search burst again');
    const answer = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === again.responseUrl);
    expect(String(answer.body.text)).toContain('limit of 25 runs a minute');
    expect(sessionsAtAnthropic()).toBe(before + 25);
    // Both processes' threads and relays finish (their posts wait on Slack's pace, so time passes).
    await drain([h.services, replica.services]);
    const limited = (await h.store.audit.byPrincipal(alice())).filter((r) => r.action === 'rate.limited');
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatchObject({
      outcome: 'refused',
      target: 'run',
      details: { window: 'minute', limit: 25 },
    });
    const told = h.sandbox.slack
      .messages(h.sandbox.slack.dmChannelId('U_ADMIN'))
      .filter((m) => String(m.text).includes('<@U_ALICE> reached the limit of 25 runs a minute'));
    expect(told).toHaveLength(1);

    // The next minute there is room again.
    h.clock.advance(MINUTE);
    expect((await runAgent(h, 'U_ALICE', '--agent reader search after the minute')).session).toBeDefined();
  });
});

describe('/agent limits', () => {
  test('a non-admin cannot open or change the limits: a forged submission changes nothing and is audited', async () => {
    const before = await h.store.settings.rateLimits();
    const forged = await submitLimits('U_BOB', undefined, {
      ...DEFAULT_RATE_LIMITS,
      run: { perMinute: 100_000, perHour: 100_000 },
    });
    expect(JSON.stringify(forged.json)).toContain('Only Deputy admins can change the limits');
    expect(await h.store.settings.rateLimits()).toEqual(before);
    const bobs = await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`);
    expect(bobs.map((r) => [r.action, r.target])).toContainEqual(['admin.refused', '/agent limits']);
    const opened = await limitsModal('U_BOB');
    expect(JSON.stringify(opened)).toContain('Only Deputy admins');
    expect(opened.callback_id).not.toBe('admin_limits');
  });

  test('an admin lowers a limit: it holds from the next request, recorded with its diff', async () => {
    nextHour();
    await setLimits({ ...DEFAULT_RATE_LIMITS, run: { perMinute: 2, perHour: 200 } });
    const changed = (await h.store.audit.byTarget('rate limits')).filter(
      (r) => r.action === 'limits.changed',
    );
    expect(changed.at(-1)?.details?.diff).toBe('run per minute 25 → 2');
    h.clock.advance(11_000); // past every replica's cache of the limits
    expect((await runAgent(h, 'U_ALICE', '--agent reader search lowered 1')).session).toBeDefined();
    expect((await runAgent(h, 'U_ALICE', '--agent reader search lowered 2')).session).toBeDefined();
    const third = await runAgent(h, 'U_ALICE', '--agent reader search lowered 3');
    expect(third.session).toBeUndefined();
    expect(third.reply).toContain('limit of 2 runs a minute');
  });

  test('an edit made on limits another admin changed since is not saved', async () => {
    const stale = await limitsModal('U_ADMIN');
    await setLimits({ ...DEFAULT_RATE_LIMITS, run: { perMinute: 3, perHour: 200 } });
    const lost = await submitLimits('U_ADMIN', stale, DEFAULT_RATE_LIMITS);
    expect(JSON.stringify(lost.json)).toContain('Another admin changed the limits');
    expect((await h.store.settings.rateLimits())?.limits.run.perMinute).toBe(3);
  });
});

describe('follow-ups, decisions and connects', () => {
  test('each is refused past its limit with when to try again, and nothing of it happens', async () => {
    nextHour();
    await setLimits({
      ...DEFAULT_RATE_LIMITS,
      follow_up: { perMinute: 1, perHour: 300 },
      decide: { perMinute: 1, perHour: 600 },
      connect: { perMinute: 1, perHour: 60 },
    });
    h.clock.advance(11_000);

    // Follow-ups: the second in the minute reaches no agent.
    const { session } = await runAgent(h, 'U_ALICE', '--agent reader search for replies');
    if (!session) throw new Error('no session');
    const reply = (text: string) =>
      h.driver.message('U_ALICE', text, { channelId: session.dmChannelId, threadTs: session.threadTs });
    await reply('search once more');
    await h.settle();
    const sent = eventsSent(h, session.sessionId, 'user.message').length;
    await reply('search yet again');
    await h.settle();
    expect(eventsSent(h, session.sessionId, 'user.message')).toHaveLength(sent);
    await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) => c.body.user === 'U_ALICE' && String(c.body.text).includes('limit of 1 follow-ups a minute'),
    );

    // Decisions: the second click in the minute decides nothing.
    const asked = [
      (await runAgent(h, 'U_ALICE', '--agent asker create a page titled Limited one')).session,
      (await runAgent(h, 'U_ALICE', '--agent asker create a page titled Limited two')).session,
    ];
    const approvals = await Promise.all(
      asked.map(async (s) => (await h.store.approvals.forSession(s?.sessionId ?? ''))[0]),
    );
    for (const [i, approval] of approvals.entries()) {
      await h.driver.blockAction(
        'U_ALICE',
        { actionId: 'session_deny', value: approval?.approvalId },
        { channelId: asked[i]?.dmChannelId ?? '', messageTs: approval?.messageTs },
      );
      await h.settle();
    }
    const statuses = await Promise.all(approvals.map((a) => h.store.approvals.get(a?.approvalId ?? '')));
    expect(statuses.map((a) => a?.status)).toEqual(['denied', 'pending']);
    // Told in the thread of the approval clicked.
    await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) =>
        c.body.thread_ts === asked[1]?.threadTs &&
        String(c.body.text).includes('limit of 1 approval decisions a minute, so nothing was decided'),
    );

    // Connects: the second link opened in the minute starts no flow.
    const open = async () => {
      const link = await connectLink(h, 'U_ALICE', 'github');
      return fetch(link, { redirect: 'manual' });
    };
    expect((await open()).status).not.toBe(429);
    const limited = await open();
    expect(limited.status).toBe(429);
    expect(await limited.text()).toContain('Too many connects');
  });
});
