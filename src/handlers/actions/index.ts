import type { App } from '@slack/bolt';
import { AdminViews } from '../../blocks/agents.js';
import { ConnectActions, OPEN_LINK_ACTION } from '../../blocks/connections.js';
import { SessionActions } from '../../blocks/sessions.js';
import type { Services } from '../../services.js';
import { adminRemoveServer } from './admin-remove-server.js';
import { connectDisconnect } from './connect-disconnect.js';
import { connectOpenLink } from './connect-open-link.js';
import { connectPasteToken } from './connect-paste-token.js';
import { sessionControls } from './session-controls.js';
import { sessionDecision } from './session-decision.js';

export function register(app: App, services: Services): void {
  app.action(OPEN_LINK_ACTION, connectOpenLink);
  app.action(ConnectActions.PasteToken, connectPasteToken(services));
  app.action(ConnectActions.Disconnect, connectDisconnect(services));
  app.action(AdminViews.RemoveServer, adminRemoveServer(services));
  for (const id of [
    SessionActions.Approve,
    SessionActions.Deny,
    SessionActions.ApproveFor15,
    SessionActions.ApproveAll,
  ]) {
    app.action(id, sessionDecision(services));
  }
  for (const id of [SessionActions.Stop, SessionActions.Share, SessionActions.RunWithout])
    app.action(id, sessionControls(services));
}
