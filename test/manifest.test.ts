import { readFile } from 'node:fs/promises';
import { expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { loadCatalogFile } from '../src/connections/catalog.js';
import { OAUTH_CALLBACK_PATH, SLACK_SIGN_IN_CALLBACK_PATH } from '../src/connections/connect-flow.js';
import { SLACK_EVENTS_PATH } from '../src/ingress/http-front.js';
import { DEFAULT_CONNECTORS_FILE } from '../src/runtime.js';

interface Manifest {
  features: {
    slash_commands: Array<{ command: string; url: string }>;
    app_home: { home_tab_enabled: boolean };
  };
  oauth_config: { scopes: { bot: string[]; user: string[] }; redirect_urls: string[] };
  settings: {
    interactivity: { is_enabled: boolean; request_url: string };
    event_subscriptions: { request_url: string; bot_events: string[] };
    socket_mode_enabled: boolean;
  };
}

const manifest = parse(await readFile('manifest.yml', 'utf8')) as Manifest;
const listeners = await readFile('src/handlers/events/index.ts', 'utf8');

test('the manifest sends /agent, interactivity and events to the events route the app serves', () => {
  expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/agent']);
  const urls = [
    ...manifest.features.slash_commands.map((c) => c.url),
    manifest.settings.interactivity.request_url,
    manifest.settings.event_subscriptions.request_url,
  ];
  for (const url of urls) {
    expect(new URL(url).pathname).toBe(SLACK_EVENTS_PATH);
    expect(new URL(url).protocol).toBe('https:');
  }
  expect(manifest.settings.socket_mode_enabled).toBe(false);
});

test('the manifest subscribes to exactly the events the app listens to', () => {
  // A `message` listener needs Slack's per-conversation-type subscriptions.
  const listened = [...listeners.matchAll(/app\.event\('([a-z_]+)'/g)].flatMap((m) =>
    m[1] === 'message' ? ['message.channels', 'message.groups', 'message.im'] : [m[1]],
  );
  expect(manifest.settings.event_subscriptions.bot_events).toEqual(listened);
  expect(manifest.features.app_home.home_tab_enabled).toBe(true);
});

test('Sign in with Slack and the Slack connector’s OAuth redirect to the app’s callback routes', () => {
  expect(manifest.oauth_config.redirect_urls.map((u) => new URL(u).pathname)).toEqual([
    SLACK_SIGN_IN_CALLBACK_PATH,
    OAUTH_CALLBACK_PATH,
  ]);
  expect(manifest.oauth_config.scopes.user[0]).toBe('openid');
});

test('the user scopes are openid and exactly what the shipped Slack connector asks for', async () => {
  const connectors = await loadCatalogFile(DEFAULT_CONNECTORS_FILE, {
    SLACK_CLIENT_ID: '1.2',
    SLACK_CLIENT_SECRET: 'x'.repeat(8),
  });
  const slack = connectors.find((c) => c.id === 'slack');
  if (slack?.auth.type !== 'oauth_client') throw new Error('no Slack connector');
  expect([...manifest.oauth_config.scopes.user].sort()).toEqual(
    ['openid', ...slack.auth.scopes, ...(slack.auth.writeScopes ?? [])].sort(),
  );
});

test('the manifest asks for the bot scopes the app uses and no others', () => {
  // commands: /agent; chat:write: chat.postMessage/postEphemeral; chat:write.public: Share to channel
  // in a public channel Deputy is not in; im:write: conversations.open for DMs; files:write: a long
  // answer as a file (files.getUploadURLExternal, files.completeUploadExternal);
  // users:read: users.info for admin checks; usergroups:read: usergroups.users.list for run access;
  // channels:history, groups:history, im:history: the message events a session's threads need, and
  // conversations.replies for a mentioned thread; app_mentions:read: app_mention events;
  // channels:read, groups:read: conversations.info and conversations.members (who can read a thread).
  // views.open, views.update and views.publish need no scope of their own.
  expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([
    'app_mentions:read',
    'channels:history',
    'channels:read',
    'chat:write',
    'chat:write.public',
    'commands',
    'files:write',
    'groups:history',
    'groups:read',
    'im:history',
    'im:write',
    'usergroups:read',
    'users:read',
  ]);
});
