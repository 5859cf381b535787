import { expect } from '@jest/globals';
import type { ToolSetting } from '../../src/agents/agent-config.js';
import { ManualClock } from '../../src/clock.js';
import type { DeliveryLimits } from '../../src/ingress/delivery-queue.js';
import { DEFAULT_RATE_LIMITS, type LiveLimits } from '../../src/limits/rate-limiter.js';
import type { Metrics } from '../../src/metrics.js';
import type { DynamoHandle } from '../../src/store/dynamo.js';
import type { AgentConfig, SessionRecord } from '../../src/store/index.js';
import { connectLink, runConnect } from './connect.js';
import { type Harness, startHarness } from './harness.js';

/**
 * A sandbox where Alice and Bob have connected Notion, and these agents exist: `reader` (search
 * allowed), `asker` (search allowed, create_page on ask), `writer-on` and `writer-off` (Alice writes).
 */
export async function startSessionsHarness(
  options: {
    metrics?: (clock: ManualClock) => Metrics;
    environment?: Record<string, string>;
    sweepMs?: number;
    /** See startHarness. */
    slackRateScale?: number;
    deliveryLimits?: DeliveryLimits;
    /** Storage to use (closed by the caller). */
    dynamo?: DynamoHandle;
    /**
     * The live-session limits (issue 19), as an admin set them. Default: far above what any test runs
     * at once, since many leave sessions waiting; the limit's own tests pass Deputy's defaults.
     */
    liveLimits?: LiveLimits;
  } = {},
) {
  const clock = new ManualClock(Date.now());
  const h = await startHarness({
    clock,
    ...(options.metrics ? { metrics: options.metrics(clock) } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
    ...(options.slackRateScale ? { slackRateScale: options.slackRateScale } : {}),
    ...(options.deliveryLimits ? { deliveryLimits: options.deliveryLimits } : {}),
    ...(options.dynamo ? { dynamo: options.dynamo } : {}),
  });
  // Before anything has read the limits (each process keeps what it read for a while).
  await h.store.settings.putRateLimits(
    {
      limits: DEFAULT_RATE_LIMITS,
      live: options.liveLimits ?? { perPerson: 1000, perAgent: 1000 },
      version: 1,
      changedBy: `T:${h.sandbox.slack.teamId}:U_ADMIN`,
      changedAt: new Date(clock.now()).toISOString(),
    },
    undefined,
  );
  for (const [userId, account] of [
    ['U_ALICE', 'acct_alice'],
    ['U_BOB', 'acct_bob'],
  ] as const) {
    const run = await runConnect(h, await connectLink(h, userId, 'notion'), { signedInAs: userId, account });
    expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
  }
  await saveAgent(h, 'reader', { search: 'allow' });
  await saveAgent(h, 'asker', { search: 'allow', create_page: 'ask' });
  await saveAgent(h, 'writer-on', { create_page: 'allow' }, ['U_ALICE']);
  await saveAgent(h, 'writer-off', { search: 'allow' }, ['U_ALICE']);
  return h;
}

/** An agent saved as an admin would through /agent setup (that flow has its own tests). */
export async function saveAgent(
  h: Harness,
  name: string,
  tools: Record<string, Exclude<ToolSetting, 'off'>>,
  writers?: string[],
  connectorId: 'notion' | 'github' = 'notion',
): Promise<void> {
  await h.services.agents.save(
    { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' },
    await agentConfig(h, name, tools, writers, connectorId),
    undefined,
    'setup',
  );
}

/** The configuration /agent setup would make: one server, these tools, everyone may run it. */
export async function agentConfig(
  h: Harness,
  name: string,
  tools: Record<string, Exclude<ToolSetting, 'off'>>,
  writers?: string[],
  connectorId: 'notion' | 'github' = 'notion',
): Promise<AgentConfig> {
  const provider = h.sandbox.providers[connectorId];
  const catalog = await h.store.toolCatalog.list(provider.mcpUrl);
  const config: AgentConfig = {
    name,
    description: '',
    model: 'claude-sonnet-4-6',
    system: '',
    servers: [
      {
        connectorId,
        url: provider.mcpUrl,
        tools: Object.fromEntries(
          Object.entries(tools).map(([tool, setting]) => [
            tool,
            { setting, reviewedHash: catalog.find((t) => t.name === tool)?.hash ?? '' },
          ]),
        ),
      },
    ],
    access: { kind: 'everyone' },
    ...(writers ? { writers } : {}),
  };
  return config;
}

/**
 * `/agent run` as `userId` types it in `channelId`; waits for the reply, then until the turn has
 * ended or holds a tool call for a decision.
 */
export async function runAgent(
  h: Harness,
  userId: string,
  text: string,
  options: { channelId?: string } = {},
): Promise<{ reply: string; session?: SessionRecord }> {
  const sent = await h.driver.command(userId, `run ${text}`, { channelId: options.channelId ?? 'C_GENERAL' });
  expect(sent.status).toBe(200);
  const reply = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl, 10_000);
  // The test clock stands still, so sessions are told apart by their prompt rather than their time.
  const prompt = text.replace(/^--agent\s+\S+\s*/, '');
  const find = async () =>
    (await h.store.sessions.byOwner(`T:${h.sandbox.slack.teamId}:${userId}`, 100)).find(
      (s) => s.prompt === prompt,
    );
  // The turn has ended, or the session waits for a decision with the approval posted. Its thread
  // and record follow the reply that it started: under Slack's limits they wait on the clock, which
  // a caller moves (letTimePass) while this waits.
  let session: SessionRecord | undefined;
  for (;;) {
    await h.settle();
    session = await find();
    const { work } = h.services;
    if (session || (work.sleeping === 0 && !work.busy)) break;
    await work.nextChange();
  }
  return { reply: JSON.stringify(reply.body), session };
}

/** The replies in the session's DM thread (not its root). */
export function threadMessages(h: Harness, session: SessionRecord) {
  return h.sandbox.slack
    .messages(session.dmChannelId)
    .filter((m) => m.thread_ts === session.threadTs && m.ts !== session.threadTs);
}

/** The events of `type` Deputy sent to the session, as the Managed Agents API received them. */
export function eventsSent(h: Harness, sessionId: string, type: string) {
  return h.sandbox.managedAgents.requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path === `/v1/sessions/${sessionId}/events` &&
      JSON.stringify(r.body ?? {}).includes(`"${type}"`),
  );
}

/**
 * `/agent <text>` as `userId`, once Deputy's work has settled: all it answered privately (the ack's
 * own text, then the response_url replies), as one string to search.
 */
export async function agentAnswers(h: Harness, userId: string, text: string): Promise<string> {
  const sent = await h.driver.command(userId, text);
  expect(sent.status).toBe(200);
  await h.settle();
  return JSON.stringify([
    sent.text,
    ...h.sandbox.slack.calls.filter((c) => c.method === 'response_url' && c.body.url === sent.responseUrl),
  ]);
}

/**
 * A click on a message in a session's thread (its root included) and the private answer to it:
 * an ephemeral message to the person in that thread, where the click was (Slack posts a
 * response_url's answer in the conversation's main pane, never in a thread).
 */
export async function clickInThread(
  h: Harness,
  userId: string,
  action: { actionId: string; value?: string | undefined },
  where: { channelId: string; messageTs?: string | undefined; threadTs: string },
): Promise<string> {
  const answers = () =>
    h.sandbox.slack
      .callsTo('chat.postEphemeral')
      .filter((c) => c.body.user === userId && c.body.thread_ts === where.threadTs);
  const before = answers().length;
  await h.driver.blockAction(userId, action, {
    channelId: where.channelId,
    messageTs: where.messageTs ?? where.threadTs,
  });
  await h.sandbox.slack.waitFor('chat.postEphemeral', () => answers().length > before);
  return String(answers()[before]?.body.text);
}
