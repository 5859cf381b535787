import type { App } from '@slack/bolt';
import type { Surfaces } from '../index.js';
import { appHomeOpened } from './app-home-opened.js';
import { appMention } from './app-mention.js';
import { appUninstalled } from './app-uninstalled.js';
import { subteamChanged } from './subteam-changed.js';
import { threadReply } from './thread-reply.js';
import { tokensRevoked } from './tokens-revoked.js';
import { userChange } from './user-change.js';

export function register(app: App, surfaces: Surfaces): void {
  app.event('app_home_opened', appHomeOpened(surfaces));
  app.event('message', threadReply(surfaces));
  app.event('app_mention', appMention(surfaces));
  app.event('tokens_revoked', tokensRevoked(surfaces));
  app.event('user_change', userChange(surfaces));
  app.event('app_uninstalled', appUninstalled(surfaces));
  app.event('subteam_members_changed', subteamChanged(surfaces));
  app.event('subteam_updated', subteamChanged(surfaces));
}
