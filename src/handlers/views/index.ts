import type { App } from '@slack/bolt';
import { AdminViews } from '../../blocks/agents.js';
import { BUDGETS_CALLBACK } from '../../blocks/budgets.js';
import { PASTE_TOKEN_CALLBACK } from '../../blocks/connections.js';
import { LIMITS_CALLBACK } from '../../blocks/limits.js';
import { HOME_RUN_CALLBACK, RUN_ON_MESSAGE_CALLBACK } from '../../blocks/sessions.js';
import type { Surfaces } from '../index.js';
import { adminBudgetsSubmission } from './admin-budgets-submission.js';
import { adminLimitsSubmission } from './admin-limits-submission.js';
import { adminServersSubmission } from './admin-servers-submission.js';
import { adminSetupBasicsSubmission } from './admin-setup-basics-submission.js';
import { adminSetupToolsSubmission } from './admin-setup-tools-submission.js';
import { homeRunSubmission } from './home-run-submission.js';
import { pasteTokenSubmission } from './paste-token-submission.js';
import { runOnMessageSubmission } from './run-on-message-submission.js';

export function register(app: App, surfaces: Surfaces): void {
  app.view(PASTE_TOKEN_CALLBACK, pasteTokenSubmission(surfaces));
  app.view(AdminViews.Servers, adminServersSubmission(surfaces));
  app.view(LIMITS_CALLBACK, adminLimitsSubmission(surfaces));
  app.view(BUDGETS_CALLBACK, adminBudgetsSubmission(surfaces));
  app.view(RUN_ON_MESSAGE_CALLBACK, runOnMessageSubmission(surfaces));
  app.view(HOME_RUN_CALLBACK, homeRunSubmission(surfaces));
  app.view(AdminViews.SetupBasics, adminSetupBasicsSubmission(surfaces));
  app.view(AdminViews.SetupTools, adminSetupToolsSubmission(surfaces));
}
