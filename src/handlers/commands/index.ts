import type { App } from '@slack/bolt';
import type { Surfaces } from '../index.js';
import { agentCommand } from './agent-command.js';

export function register(app: App, surfaces: Surfaces): void {
  app.command('/agent', agentCommand(surfaces));
}
