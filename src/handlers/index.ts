import type { App } from '@slack/bolt';
import type { Services } from '../services.js';
import * as commands from './commands/index.js';

/** Registers every listener, surface by surface, as Slack's Bolt templates do. */
export function registerListeners(app: App, services: Services): void {
  commands.register(app, services);
}
