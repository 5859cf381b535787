import type { App } from '@slack/bolt';
import { AdminViews } from '../../blocks/agents.js';
import { PASTE_TOKEN_CALLBACK } from '../../blocks/connections.js';
import type { Services } from '../../services.js';
import { adminServersSubmission } from './admin-servers-submission.js';
import { adminSetupBasicsSubmission, adminSetupToolsSubmission } from './admin-setup-submissions.js';
import { pasteTokenSubmission } from './paste-token-submission.js';

export function register(app: App, services: Services): void {
  app.view(PASTE_TOKEN_CALLBACK, pasteTokenSubmission(services));
  app.view(AdminViews.Servers, adminServersSubmission(services));
  app.view(AdminViews.SetupBasics, adminSetupBasicsSubmission(services));
  app.view(AdminViews.SetupTools, adminSetupToolsSubmission(services));
}
