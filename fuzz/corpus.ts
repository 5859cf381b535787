import {
  blockActionsPayload,
  eventEnvelope,
  locateAction,
  slashCommandBody,
  viewPayload,
} from '../sandbox/slack/payloads.js';
import { findActionElement, wireView } from '../sandbox/slack/workspace.js';
import { randomBase58 } from '../src/ids.js';
import type { AgentConfig } from '../src/store/index.js';
import type { Harness } from '../test/support/harness.js';

/**
 * What the fuzzer mutates: real requests of every kind Deputy handles, captured from a sandbox set up
 * as a workspace in use (a connection, an agent, a session waiting on an approval), so that a mutation
 * close to its seed reaches deep into the listener behind it.
 */
export type Seed =
  | { kind: 'slack'; name: string; contentType: string; body: string }
  | { kind: 'webhook'; name: string; body: string; headers: Record<string, string> }
  | { kind: 'browser'; name: string; path: string };

const FORM = 'application/x-www-form-urlencoded';
const PEOPLE = ['U_ALICE', 'U_BOB'] as const;
const ADMIN = 'U_ADMIN';

/** Sets the sandbox up through its HTTP surface and returns one seed per kind of request. */
export async function buildCorpus(h: Harness): Promise<{ seeds: Seed[]; canaries: string[] }> {
  const slack = h.sandbox.slack;
  const seeds: Seed[] = [];
  const canaries = [h.sandbox.signingSecret, h.sandbox.webhookSigningKey, slack.botToken];
  const command = (userId: string, text: string, name = `/agent ${text.split(' ')[0]}`) => {
    const channel = slack.channel('general');
    const body = slashCommandBody(slack, {
      userId,
      text,
      command: '/agent',
      channel,
      responseUrl: slack.newResponseUrl({ channelId: channel.id, userId }),
      triggerId: slack.newTriggerId({ userId }),
    });
    seeds.push({ kind: 'slack', name, contentType: FORM, body });
    return body;
  };
  const interaction = (name: string, payload: Record<string, unknown>) =>
    seeds.push({
      kind: 'slack',
      name,
      contentType: FORM,
      body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
    });
  const event = (name: string, body: Record<string, unknown>) =>
    seeds.push({ kind: 'slack', name, contentType: 'application/json', body: JSON.stringify(body) });
  const envelope = (inner: Record<string, unknown>) =>
    eventEnvelope(slack, {
      event: { event_ts: slack.workspace.nextTs(), ...inner },
      eventId: `Ev${randomBase58(10).toUpperCase()}`,
      eventTime: Math.floor(h.clock.now() / 1000),
    });
  /** A click on what `userId` sees with `actionId`, as Slack would send it (not sent here). */
  const click = (userId: string, actionId: string) => {
    const surface = locateAction(slack, userId, actionId);
    if (!surface) return;
    const blocks = surface.kind === 'view' ? surface.view.blocks : surface.message?.blocks;
    const found = findActionElement(blocks, actionId);
    const value = found?.element.value;
    interaction(`click ${actionId}`, {
      ...blockActionsPayload(slack, {
        userId,
        surface,
        action: {
          type: typeof found?.element.type === 'string' ? found.element.type : 'button',
          action_id: actionId,
          block_id: found?.blockId ?? 'block',
          ...(typeof value === 'string' ? { value } : {}),
          action_ts: slack.workspace.nextTs(),
        },
        triggerId: slack.newTriggerId({ userId }),
        ...(surface.kind === 'message'
          ? {
              responseUrl: slack.newResponseUrl({
                channelId: surface.channel.id,
                userId,
                ...(surface.message ? { messageTs: surface.message.ts } : {}),
              }),
            }
          : {}),
      }),
    });
  };

  // Connections: Alice and Bob paste a Linear token (a connector Slack alone can connect).
  const linear = h.sandbox.providers.linear;
  for (const userId of PEOPLE) {
    await h.driver.send({ body: command(userId, 'connect'), contentType: FORM });
    await h.settle();
    click(userId, 'connect_paste_token');
    await h.driver.blockAction(userId, { actionId: 'connect_paste_token', value: 'linear' });
    await h.settle();
    const modal = [...slack.openViews(userId)].reverse()[0];
    if (!modal) throw new Error('the paste-token modal did not open');
    const token = linear.issuePersonalToken(`acct_${userId.slice(2).toLowerCase()}`);
    canaries.push(token);
    const submitted = await h.driver.viewSubmission(userId, {
      callbackId: String(modal.callback_id),
      privateMetadata: String(modal.private_metadata),
      stateValues: { token_block: { token_value: token } },
    });
    seeds.push({ kind: 'slack', name: 'submit paste token', ...submitted.request });
    await h.settle();
  }
  click('U_ALICE', 'connect_disconnect');
  for (const link of connectLinks(slack.calls))
    seeds.push({ kind: 'browser', name: 'connect link', path: link });

  // An agent that may write through Linear only after asking, and a session waiting on that.
  await saveFuzzAgent(h, linear.mcpUrl);
  await h.driver.send({
    body: command('U_ALICE', 'run --agent fuzzer create a page titled Fuzz', '/agent run'),
    contentType: FORM,
  });
  await h.settle();
  for (const actionId of [
    'session_approve',
    'session_deny',
    'session_approve_15m',
    'session_approve_all',
    'session_stop',
    'session_share',
  ]) {
    click('U_ALICE', actionId);
  }
  const [session] = await h.store.sessions.byOwner(`T:${slack.teamId}:U_ALICE`, 10);
  if (session) {
    event(
      'thread reply',
      envelope({
        type: 'message',
        channel: session.dmChannelId,
        channel_type: 'im',
        user: 'U_ALICE',
        text: 'and another thing',
        ts: slack.workspace.nextTs(),
        thread_ts: session.threadTs,
      }),
    );
  }
  // A run whose connection is missing offers "Run without them".
  command('U_ADMIN', 'run --agent fuzzer search for plans', '/agent run (missing connection)');

  // Every other command, and the admin modals.
  for (const text of ['help', 'status', 'agents', 'sessions', 'forget-me', 'nonsense words', 'x'.repeat(300)])
    command('U_ALICE', text);
  // Kill-switch commands that would change everyone's state for the rest of the run are left to
  // their own tests; these answer without changing anything.
  for (const text of ['force-reconnect', 'force-reconnect nosuch', 'resume U_NOBODY']) command(ADMIN, text);
  for (const text of ['servers', 'setup', 'setup fuzzer']) {
    await h.driver.send({ body: command(ADMIN, text), contentType: FORM });
    await h.settle();
    const modal = [...slack.openViews(ADMIN)].reverse()[0];
    if (modal) {
      const view = wireView(modal);
      interaction(
        `submit ${modal.callback_id}`,
        viewPayload(slack, 'view_submission', ADMIN, view, slack.newTriggerId({ userId: ADMIN })),
      );
      interaction(`close ${modal.callback_id}`, viewPayload(slack, 'view_closed', ADMIN, view));
      click(ADMIN, 'admin_servers_remove');
      click(ADMIN, 'admin_catalog_connect');
    }
  }

  // Events Deputy listens to, and the Events API's own requests.
  event(
    'app_home_opened',
    envelope({ type: 'app_home_opened', user: 'U_BOB', channel: slack.dmChannelId('U_BOB'), tab: 'home' }),
  );
  event(
    'DM message',
    envelope({
      type: 'message',
      channel: slack.dmChannelId('U_BOB'),
      channel_type: 'im',
      user: 'U_BOB',
      text: 'hello',
      ts: slack.workspace.nextTs(),
    }),
  );
  event(
    'app_mention',
    envelope({
      type: 'app_mention',
      channel: 'C_GENERAL',
      user: 'U_BOB',
      text: `<@${slack.botUserId}> hi`,
      ts: slack.workspace.nextTs(),
    }),
  );
  event(
    'reaction_added',
    envelope({
      type: 'reaction_added',
      user: 'U_BOB',
      reaction: 'eyes',
      item: { type: 'message', channel: 'C_GENERAL', ts: slack.workspace.nextTs() },
    }),
  );
  // Lifecycle events, for someone Slack does not know and for another workspace, so that the run
  // goes on for the people above (a mutation may still name one of them).
  event(
    'user_change',
    envelope({ type: 'user_change', user: { id: 'U_GHOST', team_id: slack.teamId, deleted: true } }),
  );
  event('tokens_revoked', envelope({ type: 'tokens_revoked', tokens: { oauth: ['U_GHOST'], bot: [] } }));
  event('app_uninstalled', { ...envelope({ type: 'app_uninstalled' }), team_id: 'T_OTHER' });
  event(
    'subteam_members_changed',
    envelope({ type: 'subteam_members_changed', subteam_id: 'S_APPROVERS', team_id: slack.teamId }),
  );
  event('subteam_updated', envelope({ type: 'subteam_updated', subteam: { id: 'S_APPROVERS' } }));
  event('url_verification', {
    token: slack.verificationToken,
    challenge: randomBase58(40),
    type: 'url_verification',
  });
  event('app_rate_limited', {
    token: slack.verificationToken,
    type: 'app_rate_limited',
    team_id: slack.teamId,
    minute_rate_limited: 1795986540,
    api_app_id: slack.appId,
  });
  seeds.push({
    kind: 'slack',
    name: 'ssl_check',
    contentType: FORM,
    body: `ssl_check=1&token=${slack.verificationToken}`,
  });
  const user = { id: 'U_BOB', team_id: slack.teamId };
  const team = { id: slack.teamId };
  interaction('shortcut', {
    type: 'shortcut',
    callback_id: 'run_agent',
    trigger_id: slack.newTriggerId({ userId: 'U_BOB' }),
    user,
    team,
    api_app_id: slack.appId,
  });
  interaction('message_action', {
    type: 'message_action',
    callback_id: 'run_agent_on_message',
    trigger_id: slack.newTriggerId({ userId: 'U_BOB' }),
    user,
    team,
    channel: { id: 'C_GENERAL', name: 'general' },
    message: { type: 'message', user: 'U_ALICE', ts: slack.workspace.nextTs(), text: 'look at this' },
    response_url: slack.newResponseUrl({ channelId: 'C_GENERAL', userId: 'U_BOB' }),
  });
  interaction('block_suggestion', {
    type: 'block_suggestion',
    user,
    team,
    action_id: 'agent_users',
    block_id: 'b',
    value: 'al',
  });

  // Webhooks, signed as Anthropic signs them.
  const [vaultCredential] = h.sandbox.managedAgents.credentials();
  for (const [name, type, id] of [
    ['webhook refresh_failed', 'vault_credential.refresh_failed', vaultCredential?.id ?? 'vcrd_missing'],
    ['webhook other', 'session.status_idle', 'sesn_missing'],
  ] as const) {
    const signed = h.sandbox.managedAgents.signWebhook(
      h.sandbox.managedAgents.webhookEvent(
        type,
        id,
        vaultCredential ? { vault_id: vaultCredential.vault_id } : {},
      ),
      h.sandbox.webhookSigningKey,
    );
    seeds.push({ kind: 'webhook', name, body: signed.body, headers: signed.headers });
  }

  // Browser routes.
  for (const path of [
    '/healthz',
    '/connect/done/connected',
    '/connect/done/denied',
    `/connect/${randomBase58(20)}`,
    '/oauth/callback?code=abc&state=xyz',
    '/auth/slack/callback?code=abc&state=xyz',
    '/',
  ]) {
    seeds.push({ kind: 'browser', name: path.split('?')[0] ?? path, path });
  }
  await h.settle();
  return { seeds, canaries };
}

async function saveFuzzAgent(h: Harness, mcpUrl: string): Promise<void> {
  const catalog = await h.store.toolCatalog.list(mcpUrl);
  const config: AgentConfig = {
    name: 'fuzzer',
    description: 'An agent for the fuzz run',
    model: 'claude-sonnet-4-6',
    system: '',
    servers: [
      {
        connectorId: 'linear',
        url: mcpUrl,
        tools: Object.fromEntries(
          catalog.map((tool) => [
            tool.name,
            { setting: /create|update|delete/.test(tool.name) ? 'ask' : 'allow', reviewedHash: tool.hash },
          ]),
        ),
      },
    ],
    access: { kind: 'everyone' },
  };
  await h.services.agents.save({ teamId: h.sandbox.slack.teamId, userId: ADMIN }, config, undefined, 'fuzz');
}

/** The connect links Deputy sent so far (paths on Deputy's own origin). */
function connectLinks(calls: readonly { body: Record<string, unknown> }[]): string[] {
  const found = new Set<string>();
  for (const call of calls) {
    for (const match of JSON.stringify(call.body).matchAll(
      /https?:\/\/[^"\\]+?(\/connect\/[A-Za-z0-9_-]+)/g,
    )) {
      if (match[1]) found.add(match[1]);
    }
  }
  return [...found];
}
