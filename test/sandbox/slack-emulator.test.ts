import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type Logger,
  LogLevel,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebClient,
} from '@slack/web-api';
import { SlackEmulator } from '../../sandbox/slack/emulator.js';
import { ManualClock } from '../../src/clock.js';

/** WebClient logs every platform error; these tests provoke them on purpose. */
const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

const modal = (callbackId: string, extra: Record<string, unknown> = {}) => ({
  type: 'modal' as const,
  callback_id: callbackId,
  title: { type: 'plain_text' as const, text: 'Configure' },
  submit: { type: 'plain_text' as const, text: 'Save' },
  private_metadata: '{"agentId":"agt_1"}',
  blocks: [
    {
      type: 'input',
      block_id: 'name',
      label: { type: 'plain_text', text: 'Name' },
      element: { type: 'plain_text_input', action_id: 'value' },
    },
  ],
  ...extra,
});

/** The Slack error code a WebClient call failed with. */
async function platformError(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return (error as WebAPIPlatformError).data.error;
}

describe('Slack emulator through the real WebClient', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
  let slack: SlackEmulator;
  let client: WebClient;

  beforeAll(async () => {
    slack = await SlackEmulator.start({ clock });
    client = new WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      logger: silent,
      // Without it WebClient sleeps Retry-After and throws a request error; Deputy's own client decides.
      rejectRateLimitedCalls: true,
    });
  });
  afterEach(() => slack.reset({ state: true }));
  afterAll(() => slack.close());

  test('auth.test answers the bot identity Bolt asks for at start', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({
      ok: true,
      team_id: slack.teamId,
      user_id: slack.botUserId,
      bot_id: slack.botId,
    });
  });

  test('a form-encoded chat.postMessage is recorded with its token and JSON-parsed blocks, and lands in the channel', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }];
    const result = await client.chat.postMessage({ channel: 'C_GENERAL', text: 'hello', blocks });

    const call = slack.callsTo('chat.postMessage')[0];
    expect(call?.token).toBe(slack.botToken);
    expect(call?.body).toEqual({ channel: 'C_GENERAL', text: 'hello', blocks });
    expect(result).toMatchObject({
      ok: true,
      channel: 'C_GENERAL',
      message: { text: 'hello', bot_id: slack.botId },
    });
    expect(result.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(slack.messages('C_GENERAL')).toEqual([
      expect.objectContaining({
        ts: result.ts,
        text: 'hello',
        // Slack gives a block without a block_id one of its own.
        blocks: [{ ...blocks[0], block_id: expect.any(String) }],
        user: slack.botUserId,
      }),
    ]);
  });

  test('a JSON body with a Bearer token is accepted and answered with an x-slack-req-id header', async () => {
    const blocks = [{ type: 'divider' }];
    const response = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        authorization: `Bearer ${slack.botToken}`,
      },
      body: JSON.stringify({ channel: 'C_GENERAL', text: 'json', blocks }),
    });

    expect(response.headers.get('x-slack-req-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(await response.json()).toMatchObject({ ok: true, channel: 'C_GENERAL' });
    expect(slack.callsTo('chat.postMessage')[0]?.body).toEqual({
      channel: 'C_GENERAL',
      text: 'json',
      blocks,
    });
  });

  test('a token inside a JSON body does not authenticate (Slack reads it only from a form or the header)', async () => {
    const response = await fetch(`${slack.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: slack.botToken }),
    });
    expect(await response.json()).toEqual({ ok: false, error: 'not_authed' });
  });

  test('an unknown token is invalid_auth and no token is not_authed, both as WebAPIPlatformError', async () => {
    const stranger = new WebClient('xoxb-not-issued', {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      logger: silent,
    });
    const anonymous = new WebClient(undefined, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      logger: silent,
    });
    expect(await platformError(stranger.auth.test())).toBe('invalid_auth');
    expect(await platformError(anonymous.auth.test())).toBe('not_authed');
    expect(slack.callsTo('auth.test').map((c) => c.response)).toEqual([
      { ok: false, error: 'invalid_auth' },
      { ok: false, error: 'not_authed' },
    ]);
  });

  test('with chat:write.public (the manifest asks for it) the app posts in a public channel it is not in; a private or unknown one is channel_not_found', async () => {
    await client.chat.postMessage({ channel: 'C_RANDOM', text: 'x' });
    expect(slack.messages('C_RANDOM')).toHaveLength(1);
    expect(await platformError(client.chat.postMessage({ channel: 'C_SECRET', text: 'x' }))).toBe(
      'channel_not_found',
    );
    expect(await platformError(client.chat.postMessage({ channel: 'C_NOPE', text: 'x' }))).toBe(
      'channel_not_found',
    );
  });

  test('a file goes up in three steps: a URL for its declared length, exactly that many bytes, then a completion that shares it once', async () => {
    expect(await platformError(client.files.getUploadURLExternal({ filename: 'a.md' } as never))).toBe(
      'invalid_arguments',
    );
    const short = await client.files.getUploadURLExternal({ filename: 'short.md', length: 10 });
    await fetch(String(short.upload_url), { method: 'POST', body: 'only five' });
    expect(
      await platformError(client.files.completeUploadExternal({ files: [{ id: String(short.file_id) }] })),
    ).toBe('file_upload_size_mismatch');

    const posted = await client.chat.postMessage({ channel: 'C_GENERAL', text: 'root' });
    const upload = async () => {
      const url = await client.files.getUploadURLExternal({ filename: 'notes.md', length: 5 });
      expect((await fetch(String(url.upload_url), { method: 'POST', body: 'hello' })).status).toBe(200);
      return String(url.file_id);
    };
    // Files are shared only where the app is a member: chat:write.public does not reach them.
    const secret = await upload();
    expect(
      await platformError(
        client.files.completeUploadExternal({ files: [{ id: secret }], channel_id: 'C_SECRET' }),
      ),
    ).toBe('channel_not_found');
    const id = await upload();
    await client.files.completeUploadExternal({
      files: [{ id, title: 'Notes' }],
      channel_id: 'C_GENERAL',
      thread_ts: String(posted.ts),
    });
    const reply = slack.messages('C_GENERAL').find((m) => m.files?.[0]?.id === id);
    expect(reply).toMatchObject({ thread_ts: posted.ts, files: [{ id, name: 'notes.md', title: 'Notes' }] });
    expect(slack.fileText(id)).toBe('hello');
    expect(
      await platformError(client.files.completeUploadExternal({ files: [{ id }], channel_id: 'C_GENERAL' })),
    ).toBe('file_not_found');
  });

  test('once the app is out of a private channel it cannot edit its own message there: channel_not_found', async () => {
    slack.addChannel({
      id: 'C_PRIVATE_ROOM',
      name: 'private-room',
      isPrivate: true,
      members: ['U_ALICE', slack.botUserId],
    });
    const posted = await client.chat.postMessage({ channel: 'C_PRIVATE_ROOM', text: 'before' });
    const room = slack.channel('C_PRIVATE_ROOM');
    room.members = room.members.filter((m) => m !== slack.botUserId);
    expect(
      await platformError(
        client.chat.update({ channel: 'C_PRIVATE_ROOM', ts: String(posted.ts), text: 'after' }),
      ),
    ).toBe('channel_not_found');
    expect(slack.messages('C_PRIVATE_ROOM').map((m) => m.text)).toEqual(['before']);
  });

  test("reading a conversation: its kind's own scope, only what the bot is in (private ones invisible), threads in order, members page by page", async () => {
    slack.addChannel({
      id: 'C_READ_ROOM',
      name: 'read-room',
      isPrivate: true,
      members: ['U_ALICE', 'U_BOB', slack.botUserId],
    });
    const parent = slack.postAsUser('U_ALICE', 'C_READ_ROOM', 'parent');
    slack.postAsUser('U_BOB', 'C_READ_ROOM', 'first reply', parent.ts);
    const second = slack.postAsUser('U_ALICE', 'C_READ_ROOM', 'second reply', parent.ts);
    slack.postAsUser('U_BOB', 'C_READ_ROOM', 'not in the thread');
    const replies = await client.conversations.replies({ channel: 'C_READ_ROOM', ts: parent.ts });
    expect(replies.messages?.map((m) => m.text)).toEqual(['parent', 'first reply', 'second reply']);
    // A reply's own ts gives that reply alone.
    const alone = await client.conversations.replies({ channel: 'C_READ_ROOM', ts: second.ts });
    expect(alone.messages?.map((m) => m.text)).toEqual(['second reply']);
    const firstPage = await client.conversations.members({ channel: 'C_READ_ROOM', limit: 2 });
    expect(firstPage.members).toHaveLength(2);
    const cursor = firstPage.response_metadata?.next_cursor;
    expect(cursor).toBeTruthy();
    const secondPage = await client.conversations.members({ channel: 'C_READ_ROOM', limit: 2, cursor });
    expect([...(firstPage.members ?? []), ...(secondPage.members ?? [])].sort()).toEqual(
      ['U_ALICE', 'U_BOB', slack.botUserId].sort(),
    );
    expect((await client.conversations.info({ channel: 'C_READ_ROOM' })).channel).toMatchObject({
      is_private: true,
      is_member: true,
    });
    // A private channel the bot is not in does not exist for it; a public one is not_in_channel to read.
    expect(await platformError(client.conversations.replies({ channel: 'C_SECRET', ts: parent.ts }))).toBe(
      'channel_not_found',
    );
    expect(await platformError(client.conversations.members({ channel: 'C_SECRET' }))).toBe(
      'channel_not_found',
    );
    const outside = slack.postAsUser('U_ALICE', 'C_RANDOM', 'public, bot not in it');
    expect(await platformError(client.conversations.replies({ channel: 'C_RANDOM', ts: outside.ts }))).toBe(
      'not_in_channel',
    );
    expect(
      await platformError(client.conversations.replies({ channel: 'C_READ_ROOM', ts: '1.000001' })),
    ).toBe('thread_not_found');
    // channels:history does not read a private channel: groups:history does.
    const publicOnly = await SlackEmulator.start({ clock, scopes: ['channels:history', 'channels:read'] });
    try {
      publicOnly.addChannel({ id: 'C_P', name: 'p', isPrivate: true, members: [publicOnly.botUserId] });
      const root = publicOnly.postAsUser('U_ALICE', 'C_P', 'x');
      const narrow = new WebClient(publicOnly.botToken, {
        slackApiUrl: publicOnly.apiUrl,
        retryConfig: { retries: 0 },
        logger: silent,
      });
      await expect(narrow.conversations.replies({ channel: 'C_P', ts: root.ts })).rejects.toMatchObject({
        data: { error: 'missing_scope', needed: 'groups:history' },
      });
      await expect(narrow.conversations.members({ channel: 'C_P' })).rejects.toMatchObject({
        data: { error: 'missing_scope', needed: 'groups:read' },
      });
    } finally {
      await publicOnly.close();
    }
  });

  test('without chat:write.public a public channel the app is not in is not_in_channel; a method its scopes do not cover is missing_scope', async () => {
    const narrow = await SlackEmulator.start({ clock, scopes: ['commands', 'chat:write'] });
    try {
      const narrowClient = new WebClient(narrow.botToken, {
        slackApiUrl: narrow.apiUrl,
        retryConfig: { retries: 0 },
        logger: silent,
      });
      expect(await platformError(narrowClient.chat.postMessage({ channel: 'C_RANDOM', text: 'x' }))).toBe(
        'not_in_channel',
      );
      expect(narrow.messages('C_RANDOM')).toEqual([]);
      await expect(narrowClient.users.info({ user: 'U_ALICE' })).rejects.toMatchObject({
        data: { error: 'missing_scope', needed: 'users:read', provided: 'commands,chat:write' },
      });
    } finally {
      await narrow.close();
    }
  });

  test('blocks past Block Kit limits are invalid_blocks: section text over 3,000, button text over 75, an option value over 150, 51 blocks', async () => {
    const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
    const refused = async (blocks: unknown[]) =>
      platformError(client.chat.postMessage({ channel: 'C_GENERAL', text: 'x', blocks: blocks as never }));
    expect(await refused([section('a'.repeat(3001))])).toBe('invalid_blocks');
    expect(
      await refused([
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'b', text: { type: 'plain_text', text: 'b'.repeat(76) } }],
        },
      ]),
    ).toBe('invalid_blocks');
    expect(
      await refused([
        {
          type: 'actions',
          elements: [
            {
              type: 'static_select',
              action_id: 's',
              options: [{ text: { type: 'plain_text', text: 'o' }, value: 'v'.repeat(151) }],
            },
          ],
        },
      ]),
    ).toBe('invalid_blocks');
    expect(await refused(Array.from({ length: 51 }, () => section('x')))).toBe('invalid_blocks');
    await client.chat.postMessage({ channel: 'C_GENERAL', text: 'x', blocks: [section('a'.repeat(3000))] });
    expect(slack.messages('C_GENERAL')).toHaveLength(1);
  });

  test('a message with no text, blocks or attachments is no_text', async () => {
    expect(await platformError(client.apiCall('chat.postMessage', { channel: 'C_GENERAL' }))).toBe('no_text');
  });

  test('an action_id used twice in one block is invalid_blocks, as Slack refuses it', async () => {
    const twice = { type: 'button', action_id: 'same', text: { type: 'plain_text', text: 'x' } } as const;
    await expect(
      client.chat.postMessage({
        channel: 'C_GENERAL',
        text: 'dup',
        blocks: [{ type: 'actions', elements: [twice, { ...twice, value: 'other' }] }],
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
  });

  test('an injected not_in_channel fails the next call only, and the failed call is recorded as injected', async () => {
    slack.injectError('chat.postMessage', { error: 'not_in_channel' });

    expect(await platformError(client.chat.postMessage({ channel: 'C_GENERAL', text: 'one' }))).toBe(
      'not_in_channel',
    );
    await client.chat.postMessage({ channel: 'C_GENERAL', text: 'two' });

    expect(slack.callsTo('chat.postMessage').map((c) => [c.injected ?? false, c.body.text])).toEqual([
      [true, 'one'],
      [false, 'two'],
    ]);
    expect(slack.messages('C_GENERAL').map((m) => m.text)).toEqual(['two']);
  });

  test('an injected ratelimited answers HTTP 429 with Retry-After, which WebClient raises as WebAPIRateLimitedError', async () => {
    slack.injectError('users.info', { error: 'ratelimited', retryAfterSeconds: 7 });

    const error = await client.users.info({ user: 'U_ALICE' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(slack.callsTo('users.info')[0]).toMatchObject({ status: 429, injected: true });
  });

  test('conversations.open gives the app↔user DM, and a post there appears in messages(dm)', async () => {
    const opened = await client.conversations.open({ users: 'U_BOB' });
    const dm = slack.dmChannelId('U_BOB');
    expect(opened.channel?.id).toBe(dm);
    expect(dm).toMatch(/^D/);

    await client.chat.postMessage({ channel: dm, text: 'your run finished' });
    // Slack also accepts the user id as `channel` and posts into the same DM.
    await client.chat.postMessage({ channel: 'U_BOB', text: 'and another' });

    expect(slack.messages(dm).map((m) => m.text)).toEqual(['your run finished', 'and another']);
    const again = await client.conversations.open({ users: 'U_BOB' });
    expect(again).toMatchObject({ already_open: true, channel: { id: dm } });
    expect(await platformError(client.conversations.open({ users: 'U_NOBODY' }))).toBe('user_not_found');
  });

  test('a reply with thread_ts is kept in the thread and counted on its parent', async () => {
    const parent = await client.chat.postMessage({ channel: 'C_GENERAL', text: 'run started' });
    await client.chat.postMessage({ channel: 'C_GENERAL', text: 'step 1', thread_ts: parent.ts as string });

    const [root, reply] = slack.messages('C_GENERAL');
    expect(reply).toMatchObject({ text: 'step 1', thread_ts: parent.ts });
    expect(root).toMatchObject({ ts: parent.ts, reply_count: 1, latest_reply: reply?.ts });
  });

  test('chat.postEphemeral reaches only a member of the channel and shows in ephemerals(user)', async () => {
    const result = await client.chat.postEphemeral({
      channel: 'C_GENERAL',
      user: 'U_ALICE',
      text: 'only you',
    });
    expect(result.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(slack.ephemerals('U_ALICE')).toEqual([
      expect.objectContaining({ channel: 'C_GENERAL', text: 'only you', visibleTo: 'U_ALICE' }),
    ]);
    expect(slack.messages('C_GENERAL')).toEqual([]);

    slack.addChannel({ id: 'C_OPS', name: 'ops', members: ['U_ADMIN', slack.botUserId] });
    expect(
      await platformError(client.chat.postEphemeral({ channel: 'C_OPS', user: 'U_ALICE', text: 'x' })),
    ).toBe('user_not_in_channel');
  });

  test('chat.update edits the app’s own message, refuses others’ (cant_update_message) and unknown ones (message_not_found)', async () => {
    const posted = await client.chat.postMessage({
      channel: 'C_GENERAL',
      text: 'pending',
      blocks: [{ type: 'divider' }],
    });
    const updated = await client.chat.update({
      channel: 'C_GENERAL',
      ts: posted.ts as string,
      text: 'approved',
    });
    expect(updated).toMatchObject({ ok: true, channel: 'C_GENERAL', ts: posted.ts, text: 'approved' });
    expect(slack.messages('C_GENERAL')[0]).toMatchObject({
      text: 'approved',
      edited: { user: slack.botUserId },
    });
    // Text without blocks replaces the old blocks, as Slack draws the text.
    expect(slack.messages('C_GENERAL')[0]?.blocks).toBeUndefined();

    const alices = slack.postAsUser('U_ALICE', 'C_GENERAL', 'my own words');
    expect(await platformError(client.chat.update({ channel: 'C_GENERAL', ts: alices.ts, text: 'x' }))).toBe(
      'cant_update_message',
    );
    expect(await platformError(client.chat.update({ channel: 'C_GENERAL', ts: '1.000001', text: 'x' }))).toBe(
      'message_not_found',
    );
  });

  test('users.info answers a user object shaped like Slack’s, and user_not_found for a stranger', async () => {
    const { user } = await client.users.info({ user: 'U_ADMIN' });
    expect(user).toMatchObject({
      id: 'U_ADMIN',
      team_id: slack.teamId,
      name: 'ada',
      real_name: 'Ada Lovelace',
      deleted: false,
      is_admin: true,
      is_owner: false,
      is_bot: false,
      tz: 'Europe/Berlin',
      profile: { real_name: 'Ada Lovelace', display_name: 'ada' },
    });
    expect(typeof user?.tz_offset).toBe('number');
    expect(user).not.toHaveProperty('enterprise_user');
    expect((await client.users.info({ user: slack.botUserId })).user?.is_bot).toBe(true);
    expect(await platformError(client.users.info({ user: 'U_NOBODY' }))).toBe('user_not_found');
  });

  test('in an Enterprise Grid org, users.info carries enterprise_user', async () => {
    const grid = await SlackEmulator.start({ enterpriseId: 'E_ACME', enterpriseName: 'Acme' });
    try {
      const gridClient = new WebClient(grid.botToken, {
        slackApiUrl: grid.apiUrl,
        retryConfig: { retries: 0 },
        logger: silent,
      });
      const { user } = await gridClient.users.info({ user: 'U_ALICE' });
      expect(user?.enterprise_user).toMatchObject({
        enterprise_id: 'E_ACME',
        enterprise_name: 'Acme',
        is_admin: false,
      });
      expect(grid.user('U_ALICE').enterpriseId).toBe('E_ACME');
      expect(await gridClient.auth.test()).toMatchObject({ enterprise_id: 'E_ACME' });
    } finally {
      await grid.close();
    }
  });

  test('views.open records the parsed view and opens it for the trigger’s user; the trigger works once', async () => {
    const triggerId = slack.newTriggerId({ userId: 'U_ADMIN' });
    const opened = await client.views.open({ trigger_id: triggerId, view: modal('agent_config') });

    expect(slack.callsTo('views.open')[0]?.body.view).toEqual(modal('agent_config'));
    expect(opened.view).toMatchObject({
      type: 'modal',
      callback_id: 'agent_config',
      private_metadata: '{"agentId":"agt_1"}',
      app_id: slack.appId,
    });
    expect(opened.view?.id).toBe(opened.view?.root_view_id);
    expect(slack.openViews('U_ADMIN')).toEqual([
      expect.objectContaining({ id: opened.view?.id, hash: opened.view?.hash, callback_id: 'agent_config' }),
    ]);

    expect(await platformError(client.views.open({ trigger_id: triggerId, view: modal('again') }))).toBe(
      'exchanged_trigger_id',
    );
  });

  test('a trigger older than three seconds is expired_trigger_id, and one never issued is invalid_trigger_id', async () => {
    const triggerId = slack.newTriggerId({ userId: 'U_ALICE' });
    clock.advance(3001);
    expect(await platformError(client.views.open({ trigger_id: triggerId, view: modal('late') }))).toBe(
      'expired_trigger_id',
    );
    expect(await platformError(client.views.open({ trigger_id: '1.2.made-up', view: modal('x') }))).toBe(
      'invalid_trigger_id',
    );
    expect(slack.openViews('U_ALICE')).toEqual([]);
  });

  test('a malformed view is invalid_arguments with Slack’s explanation, and leaves the trigger unused', async () => {
    const triggerId = slack.newTriggerId({ userId: 'U_ALICE' });
    const error = (await client.views
      .open({
        trigger_id: triggerId,
        view: modal('x', { title: { type: 'plain_text', text: 'A title far too long for a modal' } }),
      })
      .catch((e: unknown) => e)) as WebAPIPlatformError;
    expect(error).toBeInstanceOf(WebAPIPlatformError);
    expect(error.data).toMatchObject({
      error: 'invalid_arguments',
      response_metadata: { messages: [expect.stringContaining('/view/title/text')] },
    });
    await expect(client.views.open({ trigger_id: triggerId, view: modal('fine') })).resolves.toMatchObject({
      ok: true,
    });
  });

  test('views.update with the current hash replaces the view; a stale hash is hash_conflict', async () => {
    const opened = await client.views.open({
      trigger_id: slack.newTriggerId({ userId: 'U_ADMIN' }),
      view: modal('agent_config', { external_id: 'cfg-1' }),
    });
    const first = opened.view as { id: string; hash: string };

    const updated = await client.views.update({
      view_id: first.id,
      hash: first.hash,
      view: modal('agent_config', { private_metadata: 'loaded' }),
    });
    expect(updated.view).toMatchObject({ id: first.id, private_metadata: 'loaded' });
    expect(updated.view?.hash).not.toBe(first.hash);

    expect(
      await platformError(
        client.views.update({ view_id: first.id, hash: first.hash, view: modal('agent_config') }),
      ),
    ).toBe('hash_conflict');
    const byExternal = await client.views.update({ external_id: 'cfg-1', view: modal('agent_config') });
    expect(byExternal.view?.id).toBe(first.id);
    expect(await platformError(client.views.update({ view_id: 'V_GONE', view: modal('x') }))).toBe(
      'not_found',
    );
  });

  test('views.push stacks a view on the open modal of the trigger’s user, up to three', async () => {
    const root = await client.views.open({
      trigger_id: slack.newTriggerId({ userId: 'U_ADMIN' }),
      view: modal('one'),
    });
    const pushed = await client.views.push({
      trigger_id: slack.newTriggerId({ userId: 'U_ADMIN' }),
      view: modal('two'),
    });

    expect(pushed.view).toMatchObject({ previous_view_id: root.view?.id, root_view_id: root.view?.id });
    expect(slack.openViews('U_ADMIN').map((v) => v.callback_id)).toEqual(['one', 'two']);
    await client.views.push({ trigger_id: slack.newTriggerId({ userId: 'U_ADMIN' }), view: modal('three') });
    expect(
      await platformError(
        client.views.push({ trigger_id: slack.newTriggerId({ userId: 'U_ADMIN' }), view: modal('four') }),
      ),
    ).toBe('push_limit_reached');
  });

  test('views.publish sets the user’s Home tab', async () => {
    const view = {
      type: 'home' as const,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Your agents' } }],
    };
    const published = await client.views.publish({ user_id: 'U_BOB', view });

    expect(slack.homeView('U_BOB')).toMatchObject({
      id: published.view?.id,
      type: 'home',
      blocks: view.blocks,
    });
    expect(slack.openViews('U_BOB')).toEqual([]);
    expect(await platformError(client.views.publish({ user_id: 'U_NOBODY', view }))).toBe('user_not_found');
  });

  test('a response_url takes five posts and then answers 404 used_url', async () => {
    const url = slack.newResponseUrl({ channelId: 'C_GENERAL', userId: 'U_ALICE' });
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    for (let i = 1; i <= 5; i++) expect((await post({ text: `update ${i}` })).status).toBe(200);
    const sixth = await post({ text: 'update 6' });

    expect(sixth.status).toBe(404);
    expect(await sixth.text()).toBe('used_url');
    expect(slack.ephemerals('U_ALICE').map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `update ${i}`));
    expect(slack.callsTo('response_url')).toHaveLength(6);
    expect(slack.callsTo('response_url')[0]?.body).toEqual({ text: 'update 1', url });
  });

  test('an expired response_url (by hand, or after 30 minutes) answers 404 expired_url', async () => {
    const post = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"late"}',
      });
    const byHand = slack.newResponseUrl({ userId: 'U_BOB' });
    slack.expireResponseUrl(byHand);
    const byClock = slack.newResponseUrl({ userId: 'U_BOB' });
    clock.advance(30 * 60 * 1000 + 1);

    for (const url of [byHand, byClock]) {
      const response = await post(url);
      expect([response.status, await response.text()]).toEqual([404, 'expired_url']);
    }
    expect(slack.ephemerals('U_BOB')).toEqual([]);
  });

  test('response_url posts go ephemeral by default, in_channel into the channel, and replace_original edits the message they came from', async () => {
    const posted = await client.chat.postMessage({
      channel: 'C_GENERAL',
      text: 'Approve?',
      blocks: [{ type: 'divider' }],
    });
    const url = slack.newResponseUrl({
      channelId: 'C_GENERAL',
      userId: 'U_ALICE',
      messageTs: posted.ts as string,
    });
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    await post({ text: 'just you' });
    await post({ text: 'everyone', response_type: 'in_channel' });
    await post({ text: 'Approved by Alice', replace_original: true });

    expect(slack.ephemerals('U_ALICE').map((m) => m.text)).toEqual(['just you']);
    expect(slack.messages('C_GENERAL').map((m) => m.text)).toEqual(['Approved by Alice', 'everyone']);
    expect(slack.messages('C_GENERAL')[0]?.ts).toBe(posted.ts);
    expect(slack.messages('C_GENERAL')[0]).not.toHaveProperty('blocks');
    const empty = await post({ response_type: 'ephemeral' });
    expect([empty.status, await empty.text()]).toEqual([400, 'no_text']);
  });

  test('waitFor resolves with a call made later, and rejects naming the method when none comes', async () => {
    const waiting = slack.waitFor('chat.postMessage', (c) => c.body.text === 'second');
    await client.chat.postMessage({ channel: 'C_GENERAL', text: 'first' });
    await client.chat.postMessage({ channel: 'C_GENERAL', text: 'second' });
    await expect(waiting).resolves.toMatchObject({ body: { text: 'second' } });
    await expect(slack.waitFor('chat.postMessage', (c) => c.body.text === 'first')).resolves.toBeDefined();

    await expect(slack.waitFor('views.open', undefined, 20)).rejects.toThrow(/no matching views\.open call/);
  });

  test('reset clears calls and pending injected errors; reset({ state: true }) also forgets messages', async () => {
    slack.injectError('auth.test', { error: 'invalid_auth' });
    await client.chat.postMessage({ channel: 'C_GENERAL', text: 'kept' });
    slack.reset();

    expect(slack.calls).toEqual([]);
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(slack.messages('C_GENERAL')).toHaveLength(1);
    slack.reset({ state: true });
    expect(slack.messages('C_GENERAL')).toEqual([]);
  });

  test('an unknown method is unknown_method', async () => {
    expect(await platformError(client.apiCall('chat.teleport', {}))).toBe('unknown_method');
  });
});
