import type { App } from '@slack/bolt';
import type { Services } from '../services.js';
import * as actions from './actions/index.js';
import * as commands from './commands/index.js';
import * as events from './events/index.js';
import * as views from './views/index.js';

/** Registers every listener, surface by surface, as Slack's Bolt templates do. */
export function registerListeners(app: App, services: Services): void {
  commands.register(app, services);
  actions.register(app, services);
  views.register(app, services);
  events.register(app, services);
}
