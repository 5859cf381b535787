import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { slashCommandBody } from '../../sandbox/slack/payloads.js';
import { embeddedMetricFormat, RELAY_LAG_METRIC } from '../../src/metrics.js';
import type { Approval, SessionRecord } from '../../src/store/index.js';
import { type Harness, joinWorkspace, vaultIdOf } from '../support/harness.js';
import { replicaServices } from '../support/replica.js';
import {
  agentAnswers,
  agentConfig,
  clickInThread,
  eventsSent,
  runAgent,
  saveAgent,
  startSessionsHarness,
  threadMessages as threadMessagesOf,
} from '../support/sessions.js';

let h: Harness;
const metricLines: string[] = [];

/** A sandbox where Alice and Bob have connected Notion and the agents these tests run exist. */
const sessionsHarness = () =>
  startSessionsHarness({
    metrics: (clock) => embeddedMetricFormat({ clock, write: (line) => metricLines.push(line) }),
  });

let shared: Harness;
beforeAll(async () => {
  shared = h = await sessionsHarness();
});
afterAll(() => shared.close());

/** The tests of the calling describe each get their own sandbox and clock (they stop relays or move time). */
function eachOnItsOwnSandbox(): void {
  beforeEach(async () => {
    h = await sessionsHarness();
  });
  afterEach(async () => {
    await h.close();
    h = shared;
  });
}

const run = (userId: string, text: string, options: { channelId?: string } = {}) =>
  runAgent(h, userId, text, options);
const threadMessages = (session: SessionRecord) => threadMessagesOf(h, session);
const confirmationsSent = (sessionId: string) => eventsSent(h, sessionId, 'user.tool_confirmation');

describe('sessions are bound to the invoker’s vault', () => {
  test('two people in one channel each get their own vault, and every MCP call carries their own token', async () => {
    const notion = h.sandbox.providers.notion;
    const before = { alice: notion.callsBy('acct_alice').length, bob: notion.callsBy('acct_bob').length };
    const alice = await run('U_ALICE', '--agent reader search welcome');
    const bob = await run('U_BOB', '--agent reader search welcome');
    expect(alice.reply).toContain('Started reader');
    for (const [userId, record] of [
      ['U_ALICE', alice.session],
      ['U_BOB', bob.session],
    ] as const) {
      const session = h.sandbox.managedAgents.session(record?.sessionId ?? '');
      expect(session?.vault_ids).toEqual([await vaultIdOf(h, userId)]);
      expect(session?.metadata).toMatchObject({
        deputy_principal: `T:${h.sandbox.slack.teamId}:${userId}`,
        slack_channel: 'C_GENERAL',
      });
      expect(session?.agent).toMatchObject({ type: 'agent', version: expect.any(Number) });
    }
    // The session's metadata names the correlation id its audit records carry, and the records of
    // its start carry the Slack trigger_id of the command (issue 18, security R45).
    const correlation = String(
      h.sandbox.managedAgents.session(alice.session?.sessionId ?? '')?.metadata?.deputy_correlation,
    );
    const trail = await h.store.audit.byCorrelation(correlation);
    expect(trail.map((r) => r.action).sort()).toEqual([
      'session.created',
      'session.requested',
      'tool.called',
    ]);
    for (const record of trail.filter((r) => r.action.startsWith('session.')))
      expect(record.triggerId).toMatch(/\S+/);
    expect(trail.find((r) => r.action === 'session.created')?.target).toBe(alice.session?.sessionId);
    // The tool call, against Alice, with what decided it (issue 18).
    expect(trail.find((r) => r.action === 'tool.called')).toMatchObject({
      principalKey: `T:${h.sandbox.slack.teamId}:U_ALICE`,
      outcome: 'success',
      details: {
        session: alice.session?.sessionId,
        server: 'notion',
        tool: 'search',
        permission: 'allow',
        setting: 'always_allow',
        agentVersion: alice.session?.agentVersion,
        arguments: expect.any(String),
      },
    });
    expect(notion.callsBy('acct_alice').length).toBe(before.alice + 1);
    expect(notion.callsBy('acct_bob').length).toBe(before.bob + 1);
    expect(notion.callsBy('acct_alice').at(-1)).toMatchObject({ tool: 'search' });
    // The DM thread holds the agent's answer.
    expect(JSON.stringify(threadMessages(alice.session as SessionRecord))).toContain('search');
  });

  test('agent write on/off × user may write yes/no: a write reaches the server only when both allow it', async () => {
    const notion = h.sandbox.providers.notion;
    const created = () =>
      notion.calls
        .filter((c) => c.tool === 'create_page')
        .map((c) => String((c.arguments as { title?: string }).title));
    for (const agent of ['writer-on', 'writer-off']) {
      for (const userId of ['U_ALICE', 'U_BOB'])
        await run(userId, `--agent ${agent} create a page titled ${agent}-${userId}`);
    }
    expect(created().filter((t) => t.startsWith('writer-'))).toEqual(['writer-on-U_ALICE']);
  });
});

describe('approvals', () => {
  test('only the owner decides; 10 concurrent Approves and a Deny send exactly one confirmation', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Held');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    expect(approval).toMatchObject({ status: 'pending', server: 'notion', tool: 'create_page' });
    const message = JSON.stringify(threadMessages(session).find((m) => m.ts === approval?.messageTs));
    expect(message).toContain('create_page');
    expect(message).toContain('Held');

    const where = { channelId: session.dmChannelId, messageTs: approval?.messageTs };
    // Bob's refusal is told in the thread he clicked in (issue 20, item 3).
    expect(
      await clickInThread(
        h,
        'U_BOB',
        { actionId: 'session_approve', value: approval?.approvalId },
        { ...where, threadTs: session.threadTs },
      ),
    ).toContain('Only the person who started');
    expect(confirmationsSent(session.sessionId)).toEqual([]);
    expect((await h.store.approvals.get(approval?.approvalId ?? ''))?.status).toBe('pending');

    await Promise.all([
      ...Array.from({ length: 10 }, () =>
        h.driver.blockAction('U_ALICE', { actionId: 'session_approve', value: approval?.approvalId }, where),
      ),
      h.driver.blockAction('U_ALICE', { actionId: 'session_deny', value: approval?.approvalId }, where),
    ]);
    await h.settle();
    expect(confirmationsSent(session.sessionId)).toHaveLength(1);
    const decided = await h.store.approvals.get(approval?.approvalId ?? '');
    expect(['allowed', 'denied']).toContain(decided?.status);
    const update = h.sandbox.slack.callsTo('chat.update').find((c) => c.body.ts === approval?.messageTs);
    expect(String(update?.body.text)).toMatch(/Approved by <@U_ALICE>|Denied by <@U_ALICE>/);
  });
});

describe('a denied call, read at a glance (issue 20, item 3)', () => {
  test('the agent is told who denied it in words, not a Slack id, and the root says the turn was done without it', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Refused');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    const where = { channelId: session.dmChannelId, messageTs: approval?.messageTs };
    await h.driver.blockAction('U_ALICE', { actionId: 'session_deny', value: approval?.approvalId }, where);
    await h.settle();
    const [denial] = confirmationsSent(session.sessionId);
    expect(JSON.stringify(denial?.body)).toContain('Denied in Slack by the person who started this session.');
    const answer = threadMessages(session).at(-1);
    expect(String(answer?.text)).toContain('I did not run create_page');
    expect(JSON.stringify(threadMessages(session))).not.toMatch(/&lt;@U|<@U_ALICE>\./);
    const root = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(root?.text)).toContain('done without the tool call that was denied');
    expect((await h.store.sessions.get(session.sessionId))?.lastDenied).toBe(1);
  });
});

describe('the auto policy (issue 16, item 3)', () => {
  eachOnItsOwnSandbox();

  test('a call Anthropic judges safe runs; one it escalates waits for the owner’s approval like any other; one it refuses is shown refused', async () => {
    await saveAgent(h, 'judged', { search: 'auto', create_page: 'auto' }, ['U_ALICE']);
    const agent = await h.store.agents.get('judged');
    const published = h.sandbox.managedAgents.agents().find((a) => a.id === agent?.agentId);
    expect(JSON.stringify(published?.tools)).toContain('"permission_policy":{"type":"auto"}');
    const judged: string[] = [];
    h.sandbox.managedAgents.autoJudge = (tool) => {
      judged.push(tool.name);
      return tool.name === 'search' ? 'allow' : 'ask';
    };
    const { session: read } = await run('U_ALICE', '--agent judged search welcome');
    if (!read) throw new Error('no session');
    expect(await h.store.approvals.forSession(read.sessionId)).toEqual([]);
    expect(h.sandbox.providers.notion.callsBy('acct_alice').at(-1)).toMatchObject({ tool: 'search' });

    const { session } = await run('U_ALICE', '--agent judged create a page titled Judged');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    expect(approval).toMatchObject({ status: 'pending', tool: 'create_page' });
    const created = () =>
      h.sandbox.providers.notion.calls.filter((c) => (c.arguments as { title?: string }).title === 'Judged');
    expect(created()).toEqual([]);
    await h.driver.blockAction(
      'U_ALICE',
      { actionId: 'session_approve', value: approval?.approvalId },
      { channelId: session.dmChannelId, messageTs: approval?.messageTs },
    );
    await h.settle();
    expect(created()).toHaveLength(1);
    expect(judged).toEqual(['search', 'create_page']);

    h.sandbox.managedAgents.autoJudge = () => 'deny';
    const { session: refused } = await run('U_ALICE', '--agent judged create a page titled Risky');
    if (!refused) throw new Error('no session');
    expect(await h.store.approvals.forSession(refused.sessionId)).toEqual([]);
    expect(JSON.stringify(threadMessages(refused))).toContain('Refused by policy: `notion.create_page`');

    // Each call is one record against Alice with what decided it; an asked call's decision is a
    // record of its own on the same target (issue 18, security R45).
    const toolRecords = async (sessionId: string) =>
      (await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_ALICE`)).filter(
        (r) => r.action === 'tool.called' && r.details?.session === sessionId,
      );
    const [asked] = await toolRecords(session.sessionId);
    expect(asked).toMatchObject({ outcome: 'success', details: { permission: 'ask', setting: 'auto' } });
    expect((await h.store.audit.byTarget(String(asked?.target))).map((r) => r.action).sort()).toEqual([
      'approval.decided',
      'tool.called',
    ]);
    expect(await toolRecords(refused.sessionId)).toEqual([
      expect.objectContaining({
        outcome: 'refused',
        details: expect.objectContaining({ permission: 'deny' }),
      }),
    ]);
    // A relay that reads the history again from before its cursor records no call twice.
    await h.store.sessions.update(read.sessionId, { cursor: 'sevt_not_in_its_history' });
    h.services.relays.ensure(read.sessionId);
    await h.settle();
    expect(await toolRecords(read.sessionId)).toHaveLength(1);
  });
});

describe('approvals when time passes (each test on a fresh clock and sandbox)', () => {
  eachOnItsOwnSandbox();

  test('a click after the request expired is refused, and only the expiry’s deny is ever sent', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Late');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    h.clock.advance(15 * 60 * 1000 + 1);
    const where = { channelId: session.dmChannelId, messageTs: approval?.messageTs };
    const reply = await clickInThread(
      h,
      'U_ALICE',
      { actionId: 'session_approve', value: approval?.approvalId },
      { ...where, threadTs: session.threadTs },
    );
    expect(reply).toContain('expired');
    await h.settle();
    expect(confirmationsSent(session.sessionId).map((r) => r.body)).toEqual([
      { events: [expect.objectContaining({ result: 'deny', tool_use_id: approval?.toolUseId })] },
    ]);
  });

  test('an undecided request expires into a deny with a message when the sweep next runs', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Forgotten');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    h.clock.advance(15 * 60 * 1000 - 1);
    await h.settle();
    expect(confirmationsSent(session.sessionId)).toEqual([]);
    h.clock.advance(60 * 1000);
    await h.settle();
    const [sent, ...more] = confirmationsSent(session.sessionId);
    expect(more).toEqual([]);
    expect(sent?.body).toMatchObject({
      events: [{ type: 'user.tool_confirmation', result: 'deny', tool_use_id: approval?.toolUseId }],
    });
    const update = h.sandbox.slack.callsTo('chat.update').find((c) => c.body.ts === approval?.messageTs);
    expect(String(update?.body.text)).toContain('Expired');
    expect(
      h.sandbox.providers.notion.calls.some((c) => (c.arguments as { title?: string }).title === 'Forgotten'),
    ).toBe(false);
  });
});

describe('stop', () => {
  test('only the owner can stop a session; Stop interrupts it', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Stopped');
    if (!session) throw new Error('no session');
    const root = { channelId: session.dmChannelId, messageTs: session.threadTs };
    const interrupts = () =>
      h.sandbox.managedAgents.requests.filter(
        (r) =>
          r.method === 'POST' &&
          r.path === `/v1/sessions/${session.sessionId}/events` &&
          JSON.stringify(r.body ?? {}).includes('user.interrupt'),
      );
    const inThread = { ...root, threadTs: session.threadTs };
    await clickInThread(h, 'U_BOB', { actionId: 'session_stop', value: session.sessionId }, inThread);
    expect(interrupts()).toEqual([]);
    // The answer is in the thread of the root clicked, not the DM's main pane (issue 20, item 3).
    expect(
      await clickInThread(h, 'U_ALICE', { actionId: 'session_stop', value: session.sessionId }, inThread),
    ).toBe('Stopping the agent.');
    expect(interrupts()).toHaveLength(1);
    await h.settle();
    expect(
      h.sandbox.providers.notion.calls.some((c) => (c.arguments as { title?: string }).title === 'Stopped'),
    ).toBe(false);
    // Told as stopped, not as done (issue 15, item 1).
    expect((await h.store.sessions.get(session.sessionId))?.lastStop).toBe('interrupted');
    const rootNow = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(rootNow?.text)).toContain('stopped before it finished');
  });

  test('a session the platform terminated shows as ended, and a reply gets a private answer, not an error', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Never');
    if (!session) throw new Error('no session');
    h.sandbox.managedAgents.terminateSession(session.sessionId);
    await h.settle();
    expect((await h.store.sessions.get(session.sessionId))?.status).toBe('done');
    const root = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(root?.text)).toContain('ended; it takes no more replies');
    const sentBefore = eventsSent(h, session.sessionId, 'user.message').length;
    await h.driver.message('U_ALICE', 'are you there?', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    const answer = await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) => c.body.user === 'U_ALICE' && String(c.body.text).includes('has ended'),
    );
    expect(String(answer.body.text)).toContain('Start a new run');
    expect(eventsSent(h, session.sessionId, 'user.message')).toHaveLength(sentBefore);
  });
});

describe('follow-ups and sharing', () => {
  test('a reply in a shared result’s thread by someone else gets a private refusal and sends nothing', async () => {
    const { session } = await run('U_ALICE', '--agent reader search welcome');
    if (!session) throw new Error('no session');
    expect(
      await clickInThread(
        h,
        'U_ALICE',
        { actionId: 'session_share', value: session.sessionId },
        { channelId: session.dmChannelId, threadTs: session.threadTs },
      ),
    ).toMatch(/^Shared in <#C_GENERAL>: <https:\/\/\S+\|see it there>\.$/);
    const shared = await h.sandbox.slack.waitFor(
      'chat.postMessage',
      (c) => c.body.channel === 'C_GENERAL' && String(c.body.text).includes('shared a result'),
    );
    const sharedTs = String((shared.response as { ts?: string }).ts);
    const sentBefore = h.sandbox.managedAgents.requests.filter(
      (r) => r.path === `/v1/sessions/${session.sessionId}/events`,
    ).length;
    await h.driver.message('U_BOB', 'now delete everything', { channelId: 'C_GENERAL', threadTs: sharedTs });
    const refusal = await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) => c.body.user === 'U_BOB' && c.body.thread_ts === sharedTs,
    );
    expect(String(refusal.body.text)).toContain('Only <@U_ALICE> can steer this agent');
    expect(
      h.sandbox.managedAgents.requests.filter((r) => r.path === `/v1/sessions/${session.sessionId}/events`)
        .length,
    ).toBe(sentBefore);
  });
});

describe('sharing where Deputy is not a member (issue 15)', () => {
  async function share(session: { sessionId: string; dmChannelId: string; threadTs: string }) {
    const answer = await clickInThread(
      h,
      'U_ALICE',
      { actionId: 'session_share', value: session.sessionId },
      { channelId: session.dmChannelId, threadTs: session.threadTs },
    );
    await h.settle();
    return answer;
  }

  test('a public channel Deputy is not in takes the share (chat:write.public)', async () => {
    const { session } = await run('U_ALICE', '--agent reader search in random', { channelId: 'C_RANDOM' });
    if (!session) throw new Error('no session');
    expect(await share(session)).toMatch(/^Shared in /);
    expect(h.sandbox.slack.messages('C_RANDOM').some((m) => String(m.text).includes('shared a result'))).toBe(
      true,
    );
  });

  test('a private channel Deputy is not in: nothing posted, the person told what to do, and Share works once Deputy is invited', async () => {
    const { session } = await run('U_ALICE', '--agent reader search in secret', { channelId: 'C_SECRET' });
    if (!session) throw new Error('no session');
    expect(await share(session)).toContain(
      'That channel is private and Deputy is not in it, so nothing was shared',
    );
    expect(h.sandbox.slack.messages('C_SECRET')).toEqual([]);
    expect(h.logLines.some((l) => l.includes('"level":"error"'))).toBe(false);

    h.sandbox.slack.channel('C_SECRET').members.push(h.sandbox.slack.botUserId);
    expect(await share(session)).toMatch(/^Shared in /);
    expect(h.sandbox.slack.messages('C_SECRET').some((m) => String(m.text).includes('shared a result'))).toBe(
      true,
    );
  });
});

describe('missing connections, failures and listing', () => {
  test('an agent whose server the person has not connected offers Connect, or running without it', async () => {
    joinWorkspace(h, 'U_CAROL');
    const sent = await h.driver.command('U_CAROL', 'run --agent reader search alone');
    const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
    const shown = JSON.stringify(reply.body);
    expect(shown).toContain('Connect Notion (sandbox)');
    expect(shown).toContain('session_run_without');
    const before = h.sandbox.managedAgents.sessions().length;
    const blocks = (reply.body.blocks ?? []) as Array<{
      elements?: Array<{ action_id?: string; value?: string }>;
    }>;
    const intentId =
      blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'session_run_without')?.value ?? '';
    const ephemeral = h.sandbox.slack.ephemerals('U_CAROL').at(-1);
    const where = { channelId: ephemeral?.channel, messageTs: ephemeral?.ts };
    // A double click starts it once.
    await Promise.all([
      h.driver.blockAction('U_CAROL', { actionId: 'session_run_without', value: intentId }, where),
      h.driver.blockAction('U_CAROL', { actionId: 'session_run_without', value: intentId }, where),
    ]);
    await h.sandbox.slack.waitFor('response_url', (c) => String(c.body.text).includes('without them'));
    await h.sandbox.slack.waitFor('response_url', (c) => String(c.body.text).includes('already started'));
    await h.settle();
    const created = h.sandbox.managedAgents.sessions().slice(before);
    expect(created).toHaveLength(1);
    expect(created[0]?.vault_ids).toEqual([await vaultIdOf(h, 'U_CAROL')]);
    expect(created[0]?.agent.mcp_servers).toEqual([]);
  });

  test('an agent with two servers the person has not connected offers one Connect button for each (issue 20, item 3)', async () => {
    const config = await agentConfig(h, 'pair', { search: 'allow' });
    const linear = h.sandbox.providers.linear;
    config.servers.push({ connectorId: 'linear', url: linear.mcpUrl, tools: {} });
    await h.services.agents.save(
      { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' },
      config,
      undefined,
      'setup',
    );
    joinWorkspace(h, 'U_DAVE');
    const sent = await h.driver.command('U_DAVE', 'run --agent pair search both');
    const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
    const buttons = ((reply.body.blocks ?? []) as Array<{ elements?: Array<Record<string, unknown>> }>)
      .flatMap((b) => b.elements ?? [])
      .filter((e) => String((e.text as { text?: string })?.text).startsWith('Connect '));
    expect(buttons.map((b) => (b.text as { text: string }).text)).toEqual([
      'Connect Notion (sandbox)',
      'Connect Linear (sandbox)',
    ]);
    expect(buttons[0]?.url).toMatch(/\/connect\//);
    // The token connector's button opens its paste-token form.
    const ephemeral = h.sandbox.slack.ephemerals('U_DAVE').at(-1);
    await h.driver.blockAction(
      'U_DAVE',
      { actionId: String(buttons[1]?.action_id), value: String(buttons[1]?.value) },
      { channelId: ephemeral?.channel, messageTs: ephemeral?.ts },
    );
    const opened = await h.sandbox.slack.waitFor('views.open', (c) =>
      JSON.stringify(c.body).includes('Linear'),
    );
    expect(JSON.stringify(opened.body)).toContain('connect_paste_token_modal');
  });

  test('a connection the provider no longer accepts shows a Reconnect button in the thread', async () => {
    h.sandbox.providers.notion.revokeAccount('acct_bob');
    const { session } = await run('U_BOB', '--agent reader search after revoke');
    if (!session) throw new Error('no session');
    const thread = JSON.stringify(threadMessages(session));
    expect(thread).toContain('Reconnect Notion (sandbox)');
    expect(thread).toContain(`${h.url}/connect/`);
  });

  test('/agent sessions lists the caller’s sessions and nobody else’s', async () => {
    const sent = await h.driver.command('U_ALICE', 'sessions');
    const reply = JSON.stringify(
      (await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl)).body,
    );
    expect(reply).toContain('*reader*');
    expect(reply).toContain('*asker*');
    expect(reply).not.toContain('after revoke');
  });
});

/** Where the approval's card is: a decision made as a click on it would be. */
const onItsMessage = (approval: Approval | undefined) => ({
  channelId: approval?.channelId ?? '',
  messageTs: approval?.messageTs ?? '',
});

/** Another replica: its own services over the same table and the same Slack and Anthropic. */
const replica = (store = h.store) => replicaServices(h, { store });

describe('when a process stops relaying (each test on a fresh sandbox)', () => {
  eachOnItsOwnSandbox();

  test('a process that starts up resumes a stopped relay from its cursor: nothing repeated, nothing missed', async () => {
    const { session } = await run('U_ALICE', '--agent asker create a page titled Resumed');
    if (!session) throw new Error('no session');
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    // This process stops relaying; the decision it still takes is noted as a wake, relayed by nobody yet.
    await h.services.relays.close();
    await h.services.approvals.decide(
      approval?.approvalId ?? '',
      { teamId: h.sandbox.slack.teamId, userId: 'U_ALICE' },
      'allow',
      'test',
      onItsMessage(approval),
    );
    await h.sandbox.managedAgents.settled(session.sessionId);
    const before = threadMessages(session).length;
    // A process starting up adopts every session woken with nobody relaying it.
    const restarted = replica();
    expect(await restarted.relays.adopt()).toBeGreaterThanOrEqual(1);
    await h.settle(restarted);
    const after = threadMessages(session);
    const texts = after.map((m) => String(m.text));
    // The approval message (updated in place with the decision) once, the result once.
    expect(after.filter((m) => m.ts === approval?.messageTs)).toHaveLength(1);
    // (the progress line says what the call returned, once, too)
    expect(texts.filter((t) => t.includes('create_page: :white_check_mark: Approved'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('`notion.create_page` returned'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('Created "Resumed"'))).toHaveLength(1);
    expect(after.length).toBeGreaterThan(before);
    await restarted.relays.close();
  });

  test('a replica that shuts down hands its relays over: another adopts them and goes on from the cursor', async () => {
    const other = replica();
    const { session } = await run('U_ALICE', '--agent asker create a page titled Handed over');
    if (!session) throw new Error('no session');
    // While this replica relays it, the other one leaves it alone (the claim).
    h.services.relays.ensure(session.sessionId);
    await other.relays.adopt();
    await other.work.settled();
    expect(other.relays.isRelaying(session.sessionId)).toBe(false);
    // Graceful shutdown: the node leaves; the decision it takes is noted as a wake, which the other
    // replica's next tick adopts.
    await h.services.relays.close();
    const [approval] = await h.store.approvals.forSession(session.sessionId);
    await h.services.approvals.decide(
      approval?.approvalId ?? '',
      { teamId: h.sandbox.slack.teamId, userId: 'U_ALICE' },
      'allow',
      'test',
      onItsMessage(approval),
    );
    await h.sandbox.managedAgents.settled(session.sessionId);
    expect(await other.relays.adopt()).toBeGreaterThanOrEqual(1);
    await h.settle(other);
    const texts = threadMessages(session).map((m) => String(m.text));
    expect(texts.filter((t) => t.includes('Created "Handed over"'))).toHaveLength(1);
    expect((await h.store.sessions.get(session.sessionId))?.status).toBe('idle');
    await other.relays.close();
  });
});

describe('exactly once and resumable', () => {
  test('relay lag goes out as CloudWatch embedded metrics under the name the alarm watches', () => {
    const documents = metricLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const lag = documents.filter((d) => RELAY_LAG_METRIC in d);
    expect(lag.length).toBeGreaterThan(0);
    for (const doc of lag) {
      expect(doc).toMatchObject({
        _aws: {
          CloudWatchMetrics: [
            {
              Namespace: 'Deputy',
              Dimensions: [['Service']],
              Metrics: [{ Name: 'RelayLagMs', Unit: 'Milliseconds' }],
            },
          ],
        },
        Service: 'deputy',
      });
      expect(doc[RELAY_LAG_METRIC]).toBeGreaterThanOrEqual(0);
    }
  });

  test('the same Slack delivery twice starts one session', async () => {
    const slack = h.sandbox.slack;
    const responseUrl = slack.newResponseUrl({ userId: 'U_BOB' });
    const body = slashCommandBody(slack, {
      userId: 'U_BOB',
      text: 'run --agent reader search twice',
      command: '/agent',
      channel: slack.channel('general'),
      responseUrl,
      triggerId: slack.newTriggerId({ userId: 'U_BOB' }),
    });
    const sessionsBefore = h.sandbox.managedAgents.sessions().length;
    await h.driver.send({ body, contentType: 'application/x-www-form-urlencoded' });
    // The first delivery's reply says it started; only then is the count meaningful.
    await h.sandbox.slack.waitFor(
      'response_url',
      (c) => c.body.url === responseUrl && String(c.body.text).includes('Started reader'),
      10_000,
    );
    await h.driver.send({
      body,
      contentType: 'application/x-www-form-urlencoded',
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    await h.settle();
    expect(h.sandbox.managedAgents.sessions().length).toBe(sessionsBefore + 1);
  });

  test('a create whose answer is lost is found by its intent id, not made twice', async () => {
    const sessionsBefore = h.sandbox.managedAgents.sessions().length;
    h.sandbox.managedAgents.injectFault({
      method: 'POST',
      path: '/v1/sessions',
      status: 500,
      afterHandling: true,
    });
    const { reply } = await run('U_BOB', '--agent reader search lost answer');
    expect(reply).toContain('Started reader');
    expect(h.sandbox.managedAgents.sessions().length).toBe(sessionsBefore + 1);
  });
});

describe('Slack calls per session (issue 17)', () => {
  test('progress is posted once and edited only when a line was added: the same text never goes twice', async () => {
    const { session } = await run('U_ALICE', '--agent reader search for progress');
    if (!session) throw new Error('no session');
    const progress = threadMessages(session).find((m) => String(m.text).startsWith('Used `notion.search`'));
    expect(progress).toBeDefined();
    const edits = h.sandbox.slack.callsTo('chat.update').filter((c) => c.body.ts === progress?.ts);
    expect(edits).toEqual([]);
    // The call's result in a few words, not the JSON it came as (issue 20, item 3).
    expect(String(progress?.text)).toMatch(/`notion\.search` returned (no results|\d+ results?)/);
    expect(JSON.stringify(threadMessages(session))).not.toMatch(/\{\\"results\\"/);
  });
});

describe('tool results behind the progress lines (issue 20, item 3)', () => {
  test('the owner opens the raw results from the progress message; anyone else is refused and shown nothing', async () => {
    const { session } = await run('U_ALICE', '--agent reader search for details');
    if (!session) throw new Error('no session');
    const progress = threadMessages(session).find((m) => String(m.text).startsWith('Used `notion.search`'));
    const where = { channelId: session.dmChannelId, messageTs: progress?.ts };
    const click = (userId: string) =>
      h.driver.blockAction(userId, { actionId: 'session_tool_results', value: session.sessionId }, where);
    const modals = () => h.sandbox.slack.callsTo('views.update').map((c) => JSON.stringify(c.body.view));
    const before = modals().length;

    await click('U_BOB');
    await h.settle();
    const refused = modals().slice(before);
    expect(refused).toEqual([expect.stringContaining('Only the person who started this session')]);
    expect(refused[0]).not.toContain('notion.search');
    const audited = await h.store.audit.byTarget(session.sessionId);
    expect(
      audited.some((r) => r.action === 'session.steer_refused' && r.principalKey?.endsWith(':U_BOB')),
    ).toBe(true);

    await click('U_ALICE');
    await h.settle();
    const shown = modals().slice(before + 1);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toContain('notion.search* · returned');
    // The raw value, as the tool gave it, in a code block.
    expect(shown[0]).toContain('```{\\"results\\":');
  });
});

describe('long answers (issue 15)', () => {
  test('a 10,000-character answer arrives whole in the thread; a 30,000-character one opens in the thread and follows whole as a file', async () => {
    const { session } = await run('U_ALICE', '--agent reader answer at length 10000');
    if (!session) throw new Error('no session');
    const answers = threadMessages(session).filter((m) => String(m.text).startsWith('line 1:'));
    expect(answers).toHaveLength(1);
    const shown = (answers[0]?.blocks ?? [])
      .map((b) => String((b as { text?: { text?: string } }).text?.text ?? ''))
      .join('');
    const expected = 'line 1: a < b & c > d, and so on.\n';
    // Escaped for mrkdwn, and nothing cut: unescaped, it is the answer to the character.
    const unescaped = shown.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    expect(unescaped).toHaveLength(10_000);
    expect(unescaped.startsWith(expected)).toBe(true);

    const { session: longer } = await run('U_ALICE', '--agent reader answer at length 30000');
    if (!longer) throw new Error('no session');
    const thread = threadMessages(longer);
    const opening = thread.find((m) => String(m.text).startsWith('line 1:'));
    expect(JSON.stringify(opening?.blocks)).toContain('it is 30,000 characters');
    // Past what a message holds, the whole answer follows its opening as a file in the thread.
    const shared = thread.filter((m) => (m.files ?? []).length > 0);
    expect(shared).toHaveLength(1);
    expect(thread.indexOf(shared[0] as (typeof thread)[number])).toBeGreaterThan(
      thread.indexOf(opening as (typeof thread)[number]),
    );
    const [file] = shared[0]?.files ?? [];
    expect(file?.name).toBe('reader-answer.md');
    const content = h.sandbox.slack.fileText(file?.id ?? '');
    expect(content).toHaveLength(30_000);
    expect(content?.startsWith(expected)).toBe(true);
  });

  test('when Slack will not take the file, the answer still arrives whole, in parts, and the turn ends normally', async () => {
    h.sandbox.slack.injectError('files.getUploadURLExternal', { error: 'missing_scope' });
    // (Another length than the test before's: runAgent tells sessions apart by their prompt.)
    const { session } = await run('U_ALICE', '--agent reader answer at length 30001');
    if (!session) throw new Error('no session');
    const parts = threadMessages(session).filter((m) => String(m.text).startsWith('(the whole answer, part'));
    expect(parts).toHaveLength(3);
    const whole = parts
      .flatMap((m) => (m.blocks ?? []).slice(1))
      .map((b) => String((b as { text?: { text?: string } }).text?.text ?? ''))
      .join('')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    expect(whole).toHaveLength(30_001);
    const recorded = await h.store.sessions.get(session.sessionId);
    expect(recorded).toMatchObject({ status: 'idle', lastStop: 'end_turn' });
    expect(h.logLines.some((l) => l.includes('relay failed'))).toBe(false);
  });
});

describe('how a turn ends (issue 15)', () => {
  test('a turn that gives up after retrying is shown as stopped, not done, and the thread says why', async () => {
    const { session } = await run('U_ALICE', '--agent reader give up');
    if (!session) throw new Error('no session');
    expect((await h.store.sessions.get(session.sessionId))?.lastStop).toBe('retries_exhausted');
    const root = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(root?.text)).toContain('stopped: it gave up after retrying');
    expect(String(root?.text)).not.toContain('done');
    expect(threadMessages(session).map((m) => String(m.text))).toContain(
      'The agent stopped: a request kept failing and it gave up after retrying.',
    );
    // The error's text reaches Slack with the credential it echoed masked.
    const problem = threadMessages(session).find((m) => String(m.text).includes('kept failing'));
    expect(String(problem?.text)).toContain('[redacted]');
    expect(JSON.stringify(h.sandbox.slack.calls)).not.toContain('ghp_0123456789abcdefghijABCDEFGHIJ');
  });

  test('a turn the model declines is shown as declined, not done, and the thread says so', async () => {
    const { session } = await run('U_ALICE', '--agent reader refuse');
    if (!session) throw new Error('no session');
    expect((await h.store.sessions.get(session.sessionId))?.lastStop).toBe('refusal');
    const root = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(root?.text)).toContain('stopped: the agent declined');
    expect(threadMessages(session).map((m) => String(m.text))).toContain(
      'The agent declined to go on with this request.',
    );
  });

  test('an error the platform is still retrying is progress, not a failure: the answer follows and no problem is reported', async () => {
    const { session } = await run('U_ALICE', '--agent reader stumble then answer');
    if (!session) throw new Error('no session');
    const texts = threadMessages(session).map((m) => String(m.text));
    expect(texts).toContain('Answered after a retry.');
    expect(texts.some((t) => t.includes('hit a problem'))).toBe(false);
    expect(texts.some((t) => t.includes('Retrying (model overloaded error)'))).toBe(true);
    const recorded = await h.store.sessions.get(session.sessionId);
    expect(recorded?.lastStop).toBe('end_turn');
    // Its cost is read from the session once, at the turn's end: a periodic usage snapshot may
    // predate the turn's last model request, and usage is counted to the cent (issue 19).
    const reads = h.sandbox.managedAgents.requests.filter(
      (r) => r.method === 'GET' && r.path === `/v1/sessions/${session.sessionId}`,
    );
    expect(reads).toHaveLength(1);
    expect(recorded?.listCost).toEqual(h.sandbox.managedAgents.session(session.sessionId)?.usage.list_cost);
    expect(recorded?.usage?.countedCents).toBe(Number(recorded?.listCost?.amount));
  });

  test('a session that reaches its spend ceiling is shown as stopped there, and a reply gets a private answer, not a 400', async () => {
    const config = await agentConfig(h, 'capped', { search: 'allow' });
    await h.services.agents.save(
      { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' },
      { ...config, spendCeilingUsd: 0.01 },
      undefined,
      'setup',
    );
    const { session } = await run('U_ALICE', '--agent capped answer at length 100000');
    if (!session) throw new Error('no session');
    const recorded = await h.store.sessions.get(session.sessionId);
    expect(recorded?.lastStop).toBe('budget_reached');
    // What it cost and its ceiling, from the session as the API gives them, kept on the record.
    const listCost = (await h.anthropic.beta.sessions.retrieve(session.sessionId)).usage.list_cost;
    expect(recorded?.listCost).toEqual({ amount: listCost?.amount, currency: 'USD' });
    expect(recorded?.ceiling).toEqual({ amount: '1', currency: 'USD' });
    expect(Number(listCost?.amount)).toBeGreaterThanOrEqual(1);
    const root = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(root?.text)).toContain('stopped at its spend ceiling');
    const dollars = `$${(Number(listCost?.amount) / 100).toFixed(2)}`;
    expect(threadMessages(session).map((m) => String(m.text))).toContainEqual(
      expect.stringContaining(`(${dollars} spent, ceiling $0.01)`),
    );

    const sentBefore = eventsSent(h, session.sessionId, 'user.message').length;
    await h.driver.message('U_ALICE', 'go on please', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    const answer = await h.sandbox.slack.waitFor(
      'chat.postEphemeral',
      (c) => c.body.user === 'U_ALICE' && String(c.body.text).includes('spend ceiling'),
    );
    expect(String(answer.body.text)).toContain('stopped at its spend ceiling, so it cannot take your reply');
    expect(eventsSent(h, session.sessionId, 'user.message')).toHaveLength(sentBefore);
    // The emulator refuses it as Managed Agents does.
    await expect(
      h.anthropic.beta.sessions.events.send(session.sessionId, {
        events: [{ type: 'user.message', content: [{ type: 'text', text: 'more' }] }],
      }),
    ).rejects.toMatchObject({ status: 400 });

    // An admin raises the ceiling from Slack: refused below what was spent, and for anyone else.
    const spent = Number(listCost?.amount);
    expect(await agentAnswers(h, 'U_BOB', `budget ${session.sessionId} 5`)).toContain(
      'Only a Deputy admin can raise',
    );
    expect(
      await agentAnswers(h, 'U_ADMIN', `budget ${session.sessionId} ${((spent - 1) / 100).toFixed(2)}`),
    ).toContain('must be above what the session has spent');
    expect((await h.anthropic.beta.sessions.retrieve(session.sessionId)).budget?.max_list_cost.amount).toBe(
      '1',
    );
    const raised = await agentAnswers(h, 'U_ADMIN', `budget ${session.sessionId} $5`);
    expect(raised).toContain('Raised the spend ceiling of <@U_ALICE>’s capped session to $5.00');
    // A raise never lowers it again.
    expect(await agentAnswers(h, 'U_ADMIN', `budget ${session.sessionId} 4`)).toContain(
      'above its current ceiling ($5.00)',
    );
    expect((await h.anthropic.beta.sessions.retrieve(session.sessionId)).budget?.max_list_cost).toEqual({
      amount: '500',
      currency: 'USD',
    });
    expect((await h.store.sessions.get(session.sessionId))?.ceiling).toEqual({
      amount: '500',
      currency: 'USD',
    });
    expect(threadMessages(session).map((m) => String(m.text))).toContain(
      '<@U_ADMIN> raised this session’s spend ceiling to $5.00. Reply in this thread to go on.',
    );
    const rootAfter = h.sandbox.slack.messages(session.dmChannelId).find((m) => m.ts === session.threadTs);
    expect(String(rootAfter?.text)).toContain('ceiling raised to $5.00; reply in this thread to go on');
    const audit = await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_ADMIN`);
    expect(audit.map((r) => [r.action, r.target])).toContainEqual([
      'session.ceiling_raised',
      session.sessionId,
    ]);

    // The owner's next reply goes to the agent, which answers within the new ceiling.
    await h.driver.message('U_ALICE', 'search welcome', {
      channelId: session.dmChannelId,
      threadTs: session.threadTs,
    });
    await h.settle();
    const taken = eventsSent(h, session.sessionId, 'user.message').filter((c) => c.status === 200);
    expect(JSON.stringify(taken.at(-1)?.body)).toContain('search welcome');
    expect(taken).toHaveLength(sentBefore + 1);
    expect((await h.store.sessions.get(session.sessionId))?.lastStop).toBe('end_turn');
  });

  test('a ceiling cannot be raised on a session started without one, nor by naming no session', async () => {
    const { session } = await run('U_ALICE', '--agent reader search welcome');
    if (!session) throw new Error('no session');
    expect(await agentAnswers(h, 'U_ADMIN', `budget ${session.sessionId} 5`)).toContain(
      'started without a spend ceiling',
    );
    expect((await h.anthropic.beta.sessions.retrieve(session.sessionId)).budget).toBeNull();
    // Audited as refused, never as a raise that did not happen.
    const audit = await h.store.audit.byTarget(session.sessionId);
    expect(
      audit.filter((r) => r.action === 'session.ceiling_raised').map((r) => [r.outcome, r.details?.reason]),
    ).toEqual([['refused', 'no_ceiling']]);
    expect(await agentAnswers(h, 'U_ADMIN', 'budget sesn_nothing_here 5')).toContain(
      'no session with that id',
    );
    expect(await agentAnswers(h, 'U_ADMIN', `budget ${session.sessionId} lots`)).toContain(
      '/agent budget SESSION_ID 50',
    );
  });
});
