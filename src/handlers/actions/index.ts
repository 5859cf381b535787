import type { App } from '@slack/bolt';
import { AdminViews } from '../../blocks/agents.js';
import { ConnectActions, OPEN_LINK_ACTION, PASTE_TOKEN_ACTION_ID } from '../../blocks/connections.js';
import { PeopleActions } from '../../blocks/people.js';
import { HOME_RUN_ACTION, SessionActions } from '../../blocks/sessions.js';
import type { Surfaces } from '../index.js';
import { adminCatalogAccount } from './admin-catalog-account.js';
import { adminPeople } from './admin-people.js';
import { adminRemoveServer } from './admin-remove-server.js';
import { connectDisconnect } from './connect-disconnect.js';
import { connectOpenLink } from './connect-open-link.js';
import { connectPasteToken } from './connect-paste-token.js';
import { forgetMe } from './forget-me.js';
import { homeRunAgent } from './home-run-agent.js';
import { sessionDecision } from './session-decision.js';
import { sessionRunWithout } from './session-run-without.js';
import { sessionShare } from './session-share.js';
import { sessionStop } from './session-stop.js';
import { sessionStopListed } from './session-stop-listed.js';
import { sessionToolResults } from './session-tool-results.js';

export function register(app: App, surfaces: Surfaces): void {
  app.action(OPEN_LINK_ACTION, connectOpenLink);
  app.action(PASTE_TOKEN_ACTION_ID, connectPasteToken(surfaces));
  app.action(ConnectActions.Disconnect, connectDisconnect(surfaces));
  app.action(AdminViews.RemoveServer, adminRemoveServer(surfaces));
  for (const id of [AdminViews.CatalogConnect, AdminViews.CatalogDisconnect]) {
    app.action(id, adminCatalogAccount(surfaces));
  }
  for (const id of [PeopleActions.Revoke, PeopleActions.Suspend, PeopleActions.Resume]) {
    app.action(id, adminPeople(surfaces));
  }
  for (const id of [
    SessionActions.Approve,
    SessionActions.Deny,
    SessionActions.ApproveFor15,
    SessionActions.ApproveAll,
  ]) {
    app.action(id, sessionDecision(surfaces));
  }
  app.action(PeopleActions.ForgetMe, forgetMe(surfaces));
  app.action(SessionActions.Stop, sessionStop(surfaces));
  app.action(SessionActions.StopLive, sessionStopListed(surfaces));
  app.action(SessionActions.Share, sessionShare(surfaces));
  app.action(SessionActions.RunWithout, sessionRunWithout(surfaces));
  app.action(SessionActions.ToolResults, sessionToolResults(surfaces));
  app.action(HOME_RUN_ACTION, homeRunAgent(surfaces));
}
