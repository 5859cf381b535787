import type { App } from '@slack/bolt';
import type { Services } from '../../services.js';
import { appHomeOpened } from './app-home-opened.js';
import { threadReply } from './thread-reply.js';

export function register(app: App, services: Services): void {
  app.event('app_home_opened', appHomeOpened(services));
  app.event('message', threadReply(services));
}
