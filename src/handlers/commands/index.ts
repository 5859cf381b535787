import type { App } from '@slack/bolt';
import type { Services } from '../../services.js';
import { agentCommand } from './agent-command.js';

export function register(app: App, services: Services): void {
  app.command('/agent', agentCommand(services));
}
