import type { App } from '@slack/bolt';
import { PASTE_TOKEN_CALLBACK } from '../../blocks/connections.js';
import type { Services } from '../../services.js';
import { pasteTokenSubmission } from './paste-token-submission.js';

export function register(app: App, services: Services): void {
  app.view(PASTE_TOKEN_CALLBACK, pasteTokenSubmission(services));
}
