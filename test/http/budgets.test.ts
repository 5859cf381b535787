import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { budgetBlockId, dollars } from '../../src/blocks/budgets.js';
import { connectLink, runConnect } from '../support/connect.js';
import { type Harness, joinWorkspace, modalOpenedBy, openHome } from '../support/harness.js';
import { agentAnswers, eventsSent, runAgent, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 19, items 2 and 3: spend budgets (per person, per agent, and defaults for everyone) hold a
 * run back once used up and cap each session at what they leave; what sessions cost is counted per
 * person, agent and day to the cent; only admins change budgets.
 */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness({ environment: { DEPUTY_ADMINS: 'U_ADMIN' } });
});
afterAll(() => h.close());

const key = (userId: string) => `T:${h.sandbox.slack.teamId}:${userId}`;
const sessionsAtAnthropic = () => h.sandbox.managedAgents.sessions().length;
/** What Managed Agents reports each of the person's sessions cost, in cents, summed. */
async function reportedCents(userId: string): Promise<number> {
  let cents = 0;
  for (const session of await h.store.sessions.byOwner(key(userId), 100)) {
    const cost = h.sandbox.managedAgents.session(session.sessionId)?.usage.list_cost;
    cents += Number(cost?.amount ?? 0);
  }
  return cents;
}

/** `/agent budgets …` as the admin sees it once filled in. */
const budgetsModal = (userId: string, text: string) => modalOpenedBy(h, userId, text);

const dollarsIn = (value: string) => ({ value: { type: 'number_input', value } });

/** Submits the budgets modal as `userId`: on `view` as opened, or with forged metadata. */
function submitBudgets(userId: string, metadata: string, values: Record<string, string>) {
  return h.driver.viewSubmission(userId, {
    callbackId: 'admin_budgets',
    privateMetadata: metadata,
    stateValues: Object.fromEntries(Object.entries(values).map(([blockId, v]) => [blockId, dollarsIn(v)])),
  });
}

/** An admin sets one person's or agent's budget through the modal, as Slack sends it. */
async function setOwnBudget(text: string, values: { daily?: string; monthly?: string }): Promise<void> {
  const view = await budgetsModal('U_ADMIN', text);
  const saved = await submitBudgets('U_ADMIN', String(view.private_metadata), {
    [budgetBlockId('own', 'daily')]: values.daily ?? '',
    [budgetBlockId('own', 'monthly')]: values.monthly ?? '',
  });
  expect(saved.status).toBe(200);
  expect(saved.json).toBeUndefined();
  await h.settle();
}

async function runReply(userId: string, text: string): Promise<string> {
  const sent = await h.driver.command(userId, `run ${text}`, { channelId: 'C_GENERAL' });
  const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
  await h.settle();
  return String(reply.body.text);
}

describe('who may set budgets', () => {
  test('a non-admin cannot open or change any budget or limit: forged submissions change nothing and each is audited', async () => {
    const refusedBefore = (await h.store.audit.byPrincipal(key('U_BOB'))).filter(
      (r) => r.action === 'admin.refused',
    ).length;
    const limitsBefore = await h.store.settings.rateLimits();
    expect(await agentAnswers(h, 'U_BOB', 'budgets')).not.toContain('admin_budgets');
    const forged = [
      submitBudgets('U_BOB', JSON.stringify({ target: { kind: 'defaults' }, version: 0 }), {
        [budgetBlockId('person', 'monthly')]: '100000',
        [budgetBlockId('agent', 'monthly')]: '100000',
      }),
      submitBudgets('U_BOB', JSON.stringify({ target: { kind: 'person', userId: 'U_BOB' }, version: 0 }), {
        [budgetBlockId('own', 'monthly')]: '100000',
      }),
      submitBudgets('U_BOB', JSON.stringify({ target: { kind: 'agent', agentName: 'reader' }, version: 0 }), {
        [budgetBlockId('own', 'daily')]: '100000',
      }),
      h.driver.viewSubmission('U_BOB', {
        callbackId: 'admin_limits',
        privateMetadata: JSON.stringify({ version: 1 }),
        stateValues: { limit_run_perMinute: { value: { type: 'number_input', value: '100000' } } },
      }),
    ];
    for (const answer of await Promise.all(forged)) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.json)).toMatch(/Only Deputy admins can change (budgets|the limits)/);
    }
    await h.settle();
    expect(await h.store.settings.budgetDefaults()).toBeUndefined();
    expect(await h.store.settings.budgetOf({ kind: 'person', principalKey: key('U_BOB') })).toBeUndefined();
    expect(await h.store.settings.budgetOf({ kind: 'agent', agentName: 'reader' })).toBeUndefined();
    expect(await h.store.settings.rateLimits()).toEqual(limitsBefore);
    const refused = (await h.store.audit.byPrincipal(key('U_BOB'))).filter(
      (r) => r.action === 'admin.refused',
    );
    // The command and the four submissions: each refused and recorded.
    expect(refused.length - refusedBefore).toBe(5);
    expect((await h.store.audit.byPrincipal(key('U_BOB'))).some((r) => r.action === 'budget.changed')).toBe(
      false,
    );
  });

  test('/agent budgets names everyone, a person or an agent; anything else is explained, and opens nothing', async () => {
    const before = h.sandbox.slack.callsTo('views.open').length;
    expect(await agentAnswers(h, 'U_ADMIN', 'budgets the whole team')).toContain(
      'Name whose budgets to change: /agent budgets, /agent budgets @person or /agent budgets agent NAME.',
    );
    expect(h.sandbox.slack.callsTo('views.open')).toHaveLength(before);
  });

  test('a budget an admin saves is audited with its change, and a stale modal does not overwrite a newer save', async () => {
    const first = await budgetsModal('U_ADMIN', 'budgets agent writer-off');
    const second = await budgetsModal('U_ADMIN', 'budgets agent writer-off');
    const monthly = budgetBlockId('own', 'monthly');
    expect(
      (await submitBudgets('U_ADMIN', String(first.private_metadata), { [monthly]: '40' })).json,
    ).toBeUndefined();
    const stale = await submitBudgets('U_ADMIN', String(second.private_metadata), { [monthly]: '5' });
    expect(JSON.stringify(stale.json)).toContain('Another admin changed these budgets');
    await h.settle();
    expect((await h.store.settings.budgetOf({ kind: 'agent', agentName: 'writer-off' }))?.budget).toEqual({
      monthlyCents: 4000,
    });
    const changed = (await h.store.audit.byPrincipal(key('U_ADMIN'))).filter(
      (r) => r.action === 'budget.changed',
    );
    expect(changed.at(-1)).toMatchObject({
      outcome: 'success',
      target: 'budget of agent writer-off',
      details: { version: 1, diff: 'monthly none → $40.00' },
    });
    // Bad figures are refused in the modal, and change nothing.
    const bad = await submitBudgets('U_ADMIN', String(second.private_metadata), { [monthly]: '-3' });
    expect(JSON.stringify(bad.json)).toContain('Dollars and cents from 0.01');
  });
});

describe('usage', () => {
  test("usage figures match the sessions' reported usage to the cent: per session, per day, in /agent usage", async () => {
    const prompts = [
      'search the quarterly plan',
      `search ${'the long report '.repeat(150).trim()}`,
      'search notes',
    ];
    for (const prompt of prompts)
      expect((await runAgent(h, 'U_ALICE', `--agent reader ${prompt}`)).session).toBeDefined();
    // A follow-up: its turn's cost is counted on top, once.
    const [latest] = await h.store.sessions.byOwner(key('U_ALICE'), 1);
    if (!latest) throw new Error('no session');
    await h.driver.message('U_ALICE', 'search once more, at length', {
      channelId: latest.dmChannelId,
      threadTs: latest.threadTs,
    });
    await h.settle();
    const reported = await reportedCents('U_ALICE');
    expect(reported).toBeGreaterThan(0);
    // Each session's record counted exactly what Managed Agents reports it cost.
    for (const session of await h.store.sessions.byOwner(key('U_ALICE'), 100)) {
      const cost = h.sandbox.managedAgents.session(session.sessionId)?.usage.list_cost;
      expect(session.usage?.countedCents).toBe(Number(cost?.amount));
    }
    const today = new Date(h.clock.now()).toISOString().slice(0, 10);
    const ledger = await h.store.usage.ofPerson(key('U_ALICE'), today, today);
    expect(ledger.reduce((sum, e) => sum + e.spentCents, 0)).toBe(reported);
    expect(new Set(ledger.map((e) => e.agentName))).toEqual(new Set(['reader']));
    const usage = await agentAnswers(h, 'U_ALICE', 'usage');
    expect(usage).toContain(`Your usage: ${dollars(reported)} today, ${dollars(reported)} this month.`);
    expect(usage).toContain(`reader ${dollars(reported)}`);
    // Bob sees his own, not Alice's.
    expect(await agentAnswers(h, 'U_BOB', 'usage')).toContain('Your usage: $0.00 today');
  });

  test('admins see the top spenders this week and month as bars; nobody else does', async () => {
    const alice = await reportedCents('U_ALICE');
    await openHome(h, 'U_ADMIN');
    const blocks = (h.sandbox.slack.homeView('U_ADMIN')?.blocks ?? []) as Array<{ text?: { text?: string } }>;
    const people = String(blocks.find((b) => b.text?.text?.startsWith('*Top people'))?.text?.text);
    expect(people).toMatch(
      new RegExp(`█+░*\` <@U_ALICE> \\${dollars(alice)} this month · \\${dollars(alice)} this week`),
    );
    const agents = String(blocks.find((b) => b.text?.text?.startsWith('*Top agents'))?.text?.text);
    expect(agents).toContain('*reader*');
    expect(await openHome(h, 'U_BOB')).not.toContain('Admin: usage');
  });
});

describe('budgets', () => {
  test('a person over their monthly budget cannot start a run or go on in a session; an admin raising it lets them, capped at what is left', async () => {
    const spent = await reportedCents('U_ALICE');
    await setOwnBudget('budgets <@U_ALICE|alice>', { monthly: '0.01' });
    const before = sessionsAtAnthropic();
    const refused = await runReply('U_ALICE', '--agent reader search past the budget');
    expect(refused).toBe(
      `You have used your monthly budget (${dollars(spent)} spent this month of $0.01), so nothing was started. It renews on the 1st (UTC); a Deputy admin can raise it with /agent budgets.`,
    );
    expect(sessionsAtAnthropic()).toBe(before);
    const exceeded = (await h.store.audit.byPrincipal(key('U_ALICE'))).filter(
      (r) => r.action === 'budget.exceeded',
    );
    expect(exceeded.at(-1)).toMatchObject({
      outcome: 'refused',
      details: { agent: 'reader', scope: 'person', period: 'month', budgetCents: 1, spentCents: spent },
    });
    // A reply in one of her sessions is not sent either.
    const [rested] = await h.store.sessions.byOwner(key('U_ALICE'), 1);
    if (!rested) throw new Error('no session');
    const sent = eventsSent(h, rested.sessionId, 'user.message').length;
    await h.driver.message('U_ALICE', 'search again', {
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
    // Bob's budget is his own: he runs.
    expect((await runAgent(h, 'U_BOB', '--agent reader search for bob')).session).toBeDefined();

    // Raised to $1.00: she runs, and the session may spend only what her budget has left.
    await setOwnBudget('budgets <@U_ALICE>', { monthly: '1.00' });
    const { session } = await runAgent(h, 'U_ALICE', '--agent reader search within the raised budget');
    if (!session) throw new Error('no session');
    expect(h.sandbox.managedAgents.session(session.sessionId)?.budget?.max_list_cost).toEqual({
      amount: String(100 - spent),
      currency: 'USD',
    });
  });

  test('a reply to a session started when the budget left more may spend only what it leaves now', async () => {
    // The session started within the raised budget (the test clock stands still: found by its prompt).
    const latest = (await h.store.sessions.byOwner(key('U_ALICE'), 100)).find(
      (s) => s.prompt === 'search within the raised budget',
    );
    if (!latest) throw new Error('no session');
    expect(latest.ceiling).toBeDefined();
    // Two cents left this month: less than the session's ceiling allows.
    await setOwnBudget('budgets <@U_ALICE>', {
      monthly: dollars((await reportedCents('U_ALICE')) + 2).slice(1),
    });
    const counted = latest.usage?.countedCents ?? 0;
    const sent = eventsSent(h, latest.sessionId, 'user.message').length;
    await h.driver.message('U_ALICE', 'search a little more', {
      channelId: latest.dmChannelId,
      threadTs: latest.threadTs,
    });
    await h.settle();
    expect(eventsSent(h, latest.sessionId, 'user.message')).toHaveLength(sent + 1);
    const updates = h.sandbox.managedAgents.requests.filter(
      (r) => r.method === 'POST' && r.path === `/v1/sessions/${latest.sessionId}`,
    );
    expect(updates.map((r) => r.body)).toEqual([
      { budget: { type: 'limit', max_list_cost: { amount: String(counted + 2), currency: 'USD' } } },
    ]);
  });

  test("an agent's daily budget holds for everyone together, and the tightest budget sets the session's ceiling", async () => {
    const today = new Date(h.clock.now()).toISOString().slice(0, 10);
    const readerToday = (await h.store.usage.ofAgent('reader', today, today)).reduce(
      (s, e) => s + e.spentCents,
      0,
    );
    expect(readerToday).toBeGreaterThan(0);
    await setOwnBudget('budgets agent reader', { daily: dollars(readerToday).slice(1) });
    expect(await runReply('U_BOB', '--agent reader search once more')).toContain(
      `The reader agent has used its daily budget for everyone (${dollars(readerToday)} spent today of ${dollars(readerToday)}), so nothing was started.`,
    );
    // Another agent has no budget: only Bob's own (none) and the agent's ceiling bear on it.
    const { session } = await runAgent(h, 'U_BOB', '--agent asker search beside it');
    if (!session) throw new Error('no session');
    expect(h.sandbox.managedAgents.session(session.sessionId)?.budget).toBeNull();
    // Raised by a cent above today's spend: the session's ceiling is that cent.
    await setOwnBudget('budgets agent reader', { daily: dollars(readerToday + 1).slice(1) });
    const capped = await runAgent(h, 'U_BOB', '--agent reader search with a cent left');
    if (!capped.session) throw new Error('no session');
    expect(h.sandbox.managedAgents.session(capped.session.sessionId)?.budget?.max_list_cost.amount).toBe('1');
  });

  test("everyone's default budgets hold for those with none of their own, field by field", async () => {
    joinWorkspace(h, 'U_CAROL');
    await runConnect(h, await connectLink(h, 'U_CAROL', 'notion'), {
      signedInAs: 'U_CAROL',
      account: 'acct_carol',
    });
    const view = await budgetsModal('U_ADMIN', 'budgets');
    const saved = await submitBudgets('U_ADMIN', String(view.private_metadata), {
      [budgetBlockId('person', 'daily')]: '0.01',
      [budgetBlockId('person', 'monthly')]: '',
      [budgetBlockId('agent', 'daily')]: '',
      [budgetBlockId('agent', 'monthly')]: '',
    });
    expect(saved.json).toBeUndefined();
    await h.settle();
    expect(await h.store.settings.budgetDefaults()).toMatchObject({ person: { dailyCents: 1 }, agent: {} });
    // Carol has spent nothing: her first run starts, its session capped at the cent her day allows.
    const { session } = await runAgent(h, 'U_CAROL', '--agent asker search for carol');
    if (!session) throw new Error('no session');
    expect(h.sandbox.managedAgents.session(session.sessionId)?.budget?.max_list_cost.amount).toBe('1');
    expect(await runReply('U_CAROL', '--agent asker search again')).toContain(
      'You have used your daily budget ($0.01 spent today of $0.01), so nothing was started. It renews at midnight UTC',
    );
    // Alice's own budget sets only a monthly figure: the default daily one holds for her too.
    expect(await runReply('U_ALICE', '--agent asker search today')).toContain(
      'You have used your daily budget',
    );
  });
});
