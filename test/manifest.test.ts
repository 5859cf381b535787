import { readFile } from 'node:fs/promises';
import { expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH } from '../src/ingress/http-front.js';

interface Manifest {
  features: { slash_commands: Array<{ command: string; url: string }> };
  oauth_config: { scopes: { bot: string[] }; redirect_urls?: string[] };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
}

const manifest = parse(await readFile('manifest.yml', 'utf8')) as Manifest;

test('the manifest sends /agent and interactivity to the events route the app serves', () => {
  expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/agent']);
  for (const url of [
    ...manifest.features.slash_commands.map((c) => c.url),
    manifest.settings.interactivity.request_url,
  ]) {
    expect(new URL(url).pathname).toBe(SLACK_EVENTS_PATH);
    expect(new URL(url).protocol).toBe('https:');
  }
  expect(manifest.settings.socket_mode_enabled).toBe(false);
});

test('the manifest asks for the bot scopes the app uses and no others', () => {
  // commands: /agent; chat:write: chat.postMessage/postEphemeral; im:write: conversations.open for DMs.
  expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['chat:write', 'commands', 'im:write']);
});
