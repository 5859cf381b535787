import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { App, HTTPReceiver, type Logger, LogLevel } from '@slack/bolt';
import { SlackDriver } from '../../sandbox/slack/driver.js';
import { type RecordedCall, SlackEmulator } from '../../sandbox/slack/emulator.js';
import { signSlackRequest } from '../../sandbox/slack/signing.js';

const signingSecret = 'driver-test-signing-secret';

const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

const approvalBlocks = (runId: string) => [
  { type: 'section', block_id: 'ask', text: { type: 'mrkdwn', text: 'Allow *create_page*?' } },
  {
    type: 'actions',
    block_id: 'decide',
    elements: [
      { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: runId },
      { type: 'button', action_id: 'deny', text: { type: 'plain_text', text: 'Deny' }, value: runId },
    ],
  },
];

const configModal = {
  type: 'modal' as const,
  callback_id: 'agent_config',
  private_metadata: '{"agentId":"agt_1"}',
  title: { type: 'plain_text' as const, text: 'Agent' },
  submit: { type: 'plain_text' as const, text: 'Save' },
  blocks: [
    {
      type: 'input',
      block_id: 'name',
      label: { type: 'plain_text', text: 'Name' },
      element: { type: 'plain_text_input', action_id: 'value' },
    },
  ],
};

/** What the listeners saw, in order. */
interface Seen {
  commands: Record<string, unknown>[];
  actions: { body: Record<string, unknown>; value?: string }[];
  submissions: { values: unknown; metadata: string; user: string }[];
  events: { type: string; retryNum?: number }[];
}

describe('SlackDriver against a real Bolt app', () => {
  let slack: SlackEmulator;
  let app: App;
  let driver: SlackDriver;
  let appUrl: string;
  let authTest: RecordedCall;
  const seen: Seen = { commands: [], actions: [], submissions: [], events: [] };

  beforeAll(async () => {
    slack = await SlackEmulator.start();
    app = new App({
      receiver: new HTTPReceiver({ signingSecret, logger: silent }),
      token: slack.botToken,
      logger: silent,
      clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
    });

    app.command('/agent', async ({ command, ack, respond }) => {
      seen.commands.push({ ...command });
      await ack();
      await respond({ text: `Run ${command.text}?`, blocks: approvalBlocks('run_1') });
    });
    app.command('/whoami', async ({ command, ack }) => {
      await ack({ response_type: 'ephemeral', text: `You are ${command.user_name}` });
    });
    app.action('approve', async ({ ack, body, action, client, respond }) => {
      await ack();
      seen.actions.push({
        body: body as unknown as Record<string, unknown>,
        value: (action as { value?: string }).value,
      });
      await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: configModal });
      await respond({ replace_original: true, text: 'Approved' });
    });
    app.view('agent_config', async ({ ack, view, body }) => {
      const name = (view.state.values.name?.value as { value?: string } | undefined)?.value;
      if (!name) {
        await ack({ response_action: 'errors', errors: { name: 'A name is required' } });
        return;
      }
      seen.submissions.push({
        values: view.state.values,
        metadata: view.private_metadata,
        user: body.user.id,
      });
      await ack();
    });
    app.event('app_mention', async ({ event, client, context }) => {
      seen.events.push({
        type: event.type,
        ...(context.retryNum === undefined ? {} : { retryNum: context.retryNum }),
      });
      await client.chat.postMessage({ channel: event.channel, thread_ts: event.ts, text: 'On it' });
    });
    app.message(async ({ message, say }) => {
      seen.events.push({ type: message.type });
      await say('Got your message');
    });

    const server = await app.start(0);
    appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    driver = new SlackDriver({ appUrl, signingSecret, slack });
    // new App({ token }) checks the token with auth.test on its own, before any request.
    authTest = await slack.waitFor('auth.test');
  });
  afterEach(() => {
    slack.reset({ state: true });
    seen.commands.length = 0;
    seen.actions.length = 0;
    seen.submissions.length = 0;
    seen.events.length = 0;
  });
  afterAll(async () => {
    await app.stop();
    await slack.close();
  });

  test('a slash command reaches the /agent listener as Slack sends it, and respond() shows an ephemeral to that user', async () => {
    const sent = await driver.command('U_ALICE', 'summarise the week');

    expect(sent.status).toBe(200);
    await slack.waitFor('response_url');
    expect(seen.commands[0]).toMatchObject({
      command: '/agent',
      text: 'summarise the week',
      user_id: 'U_ALICE',
      user_name: 'alice',
      team_id: slack.teamId,
      channel_id: 'C_GENERAL',
      api_app_id: slack.appId,
      response_url: sent.responseUrl,
      trigger_id: sent.triggerId,
      is_enterprise_install: 'false',
    });
    expect(seen.commands[0]).not.toHaveProperty('enterprise_id');
    expect(slack.ephemerals('U_ALICE')).toEqual([
      expect.objectContaining({
        channel: 'C_GENERAL',
        text: 'Run summarise the week?',
        source: 'response_url',
      }),
    ]);
  });

  test('the body of a command’s ack is shown to the user without using the response_url', async () => {
    const sent = await driver.command('U_BOB', '', { command: '/whoami' });

    expect(sent.json).toEqual({ response_type: 'ephemeral', text: 'You are bob' });
    expect(slack.ephemerals('U_BOB')).toEqual([
      expect.objectContaining({ text: 'You are bob', source: 'ack' }),
    ]);
    expect(slack.callsTo('response_url')).toEqual([]);
  });

  test('a request signed with another secret, or five minutes old, is refused 401 and reaches no listener', async () => {
    const wrongSecret = await driver.send({
      body: 'command=%2Fagent&text=x&user_id=U_ALICE',
      contentType: 'application/x-www-form-urlencoded',
      signingSecret: 'not-the-secret',
    });
    const stale = await driver.command('U_ALICE', 'x', {
      timestampSeconds: Math.floor(Date.now() / 1000) - 301,
    });

    expect([wrongSecret.status, stale.status]).toEqual([401, 401]);
    expect(seen.commands).toEqual([]);
  });

  test('signSlackRequest produces the v0 signature Bolt verifies', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'abc', token: 'x' });
    const response = await fetch(`${appUrl}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signSlackRequest(body, signingSecret, Math.floor(Date.now() / 1000)),
      },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: 'abc' });
  });

  test('a click on the button the app showed reaches its action listener with the button’s value; its views.open and respond() take effect', async () => {
    await driver.command('U_ALICE', 'draft a page');
    await slack.waitFor('response_url');

    const clicked = await driver.blockAction('U_ALICE', { actionId: 'approve' });

    expect(clicked.status).toBe(200);
    await slack.waitFor('response_url', (c) => c.body.replace_original === true);
    expect(seen.actions[0]?.value).toBe('run_1');
    expect(seen.actions[0]?.body).toMatchObject({
      type: 'block_actions',
      user: { id: 'U_ALICE', username: 'alice', team_id: slack.teamId },
      team: { id: slack.teamId },
      api_app_id: slack.appId,
      container: { type: 'message', channel_id: 'C_GENERAL', is_ephemeral: true },
      channel: { id: 'C_GENERAL', name: 'general' },
      trigger_id: clicked.triggerId,
      response_url: clicked.responseUrl,
      actions: [{ type: 'button', action_id: 'approve', block_id: 'decide', value: 'run_1' }],
    });
    expect(slack.callsTo('views.open')[0]?.response).toMatchObject({ ok: true });
    expect(slack.openViews('U_ALICE').map((v) => v.callback_id)).toEqual(['agent_config']);
    expect(slack.ephemerals('U_ALICE').map((m) => m.text)).toEqual(['Approved']);
  });

  test('submitting the modal reaches the view listener with typed values and private_metadata; an errors ack keeps it open, an empty ack closes it', async () => {
    await driver.command('U_ADMIN', 'configure');
    await slack.waitFor('response_url');
    await driver.blockAction('U_ADMIN', { actionId: 'approve' });
    await slack.waitFor('views.open');

    const refused = await driver.viewSubmission('U_ADMIN', {
      callbackId: 'agent_config',
      stateValues: { name: { value: '' } },
    });
    expect(refused.json).toEqual({ response_action: 'errors', errors: { name: 'A name is required' } });
    expect(slack.openViews('U_ADMIN')).toHaveLength(1);

    const accepted = await driver.viewSubmission('U_ADMIN', {
      callbackId: 'agent_config',
      stateValues: { name: { value: 'Researcher' } },
    });
    expect(accepted.status).toBe(200);
    expect(seen.submissions).toEqual([
      {
        user: 'U_ADMIN',
        metadata: '{"agentId":"agt_1"}',
        values: { name: { value: { type: 'plain_text_input', value: 'Researcher' } } },
      },
    ]);
    expect(slack.openViews('U_ADMIN')).toEqual([]);
  });

  test('an app_mention event reaches the listener, whose threaded reply appears under the mention', async () => {
    const mention = await driver.appMention('U_BOB', 'what changed today?');

    expect(mention.status).toBe(200);
    await slack.waitFor('chat.postMessage');
    expect(seen.events).toEqual([{ type: 'app_mention' }]);
    expect(slack.messages('C_GENERAL')).toEqual([
      expect.objectContaining({
        user: 'U_BOB',
        text: `<@${slack.botUserId}> what changed today?`,
        reply_count: 1,
      }),
      expect.objectContaining({ user: slack.botUserId, text: 'On it', thread_ts: mention.ts }),
    ]);
  });

  test('a redelivered event carries X-Slack-Retry-Num, which Bolt hands the listener as context.retryNum', async () => {
    await driver.event(
      {
        type: 'app_mention',
        user: 'U_BOB',
        text: `<@${slack.botUserId}> hi`,
        ts: '1700000000.000100',
        channel: 'C_GENERAL',
      },
      { retryNum: 1, retryReason: 'http_timeout' },
    );
    await slack.waitFor('chat.postMessage');
    expect(seen.events).toEqual([{ type: 'app_mention', retryNum: 1 }]);
  });

  test('a DM to the app reaches app.message, and say() answers in that DM', async () => {
    const sent = await driver.message('U_ALICE', 'hello deputy');

    expect(sent.channelId).toBe(slack.dmChannelId('U_ALICE'));
    await slack.waitFor('chat.postMessage');
    expect(seen.events).toEqual([{ type: 'message' }]);
    expect(slack.messages(sent.channelId).map((m) => [m.user, m.text])).toEqual([
      ['U_ALICE', 'hello deputy'],
      [slack.botUserId, 'Got your message'],
    ]);
  });

  test('url_verification is answered with the challenge', async () => {
    const answer = await driver.urlVerification('challenge-123');
    expect(answer.json).toEqual({ challenge: 'challenge-123' });
  });

  test('Bolt verified its bot token with auth.test against the emulator', () => {
    expect(authTest.token).toBe(slack.botToken);
    expect(authTest.response).toMatchObject({ ok: true, user_id: slack.botUserId, bot_id: slack.botId });
  });
});
