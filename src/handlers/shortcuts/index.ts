import type { App } from '@slack/bolt';
import type { Surfaces } from '../index.js';
import { runOnMessage } from './run-on-message.js';

/** The message shortcut the manifest declares (`features.shortcuts`). */
const RUN_ON_MESSAGE_SHORTCUT = 'run_agent_on_message';

export function register(app: App, surfaces: Surfaces): void {
  app.shortcut({ callback_id: RUN_ON_MESSAGE_SHORTCUT, type: 'message_action' }, runOnMessage(surfaces));
}
