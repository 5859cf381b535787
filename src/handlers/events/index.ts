import type { App } from '@slack/bolt';
import type { Surfaces } from '../index.js';
import { appHomeOpened } from './app-home-opened.js';
import { threadReply } from './thread-reply.js';

export function register(app: App, surfaces: Surfaces): void {
  app.event('app_home_opened', appHomeOpened(surfaces));
  app.event('message', threadReply(surfaces));
}
