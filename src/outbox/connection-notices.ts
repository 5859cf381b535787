import {
  catalogAccountConnectedNotice,
  connectedNotice,
  connectFailedNotice,
  connectMessage,
  disconnectedNotice,
  needsReconnectNotice,
  widerAccessNotice,
} from '../blocks/connections.js';
import { homeView } from '../blocks/home.js';
import type { Connector } from '../connections/catalog.js';
import type { ConnectorLink, Revocation } from '../connections/connections-service.js';
import type { ConnectionNotices, RefreshedViews } from '../connections/notices.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import type { Outbox } from './outbox.js';

/**
 * What a person sees in Slack about their connections: DMs from the app, the `/agent connect`
 * message (replaced in place through its response_url) and the App Home tab.
 */
export class SlackConnectionNotices implements ConnectionNotices {
  constructor(private readonly deps: { outbox: Outbox; logger: Logger }) {}

  async connected(principal: Principal, connector: Connector, views: RefreshedViews): Promise<void> {
    await Promise.all([
      this.deps.outbox.toPerson(principal.userId, connectedNotice(connector.name)),
      this.refreshed(principal, views),
    ]);
  }

  async failed(
    principal: Principal,
    connector: Connector,
    reason: string,
    views: RefreshedViews,
  ): Promise<void> {
    await Promise.all([
      this.deps.outbox.toPerson(principal.userId, connectFailedNotice(connector.name, reason)),
      this.refreshed(principal, views),
    ]);
  }

  async needsReconnect(principal: Principal, entry: ConnectorLink, views: RefreshedViews): Promise<void> {
    await Promise.all([
      this.deps.outbox.toPerson(principal.userId, needsReconnectNotice(entry)),
      this.refreshed(principal, views),
    ]);
  }

  async disconnected(
    principal: Principal,
    connector: Connector,
    outcome: { sessionsStopped: number; revocation: Revocation },
  ): Promise<void> {
    await this.deps.outbox.toPerson(principal.userId, disconnectedNotice(connector.name, outcome));
  }

  async needsWiderAccess(principal: Principal, entry: ConnectorLink, agentName: string): Promise<void> {
    await this.deps.outbox.toPerson(principal.userId, widerAccessNotice(entry, agentName));
  }

  async catalogAccountConnected(admin: Principal, connector: Connector): Promise<void> {
    await this.deps.outbox.toPerson(admin.userId, catalogAccountConnectedNotice(connector.name));
  }

  async refreshed(principal: Principal, views: RefreshedViews): Promise<void> {
    await Promise.all([
      views.message
        ? this.replaceConnectMessage(views.message.responseUrl, views.message.entries)
        : undefined,
      views.home ? this.deps.outbox.publishHome(principal.userId, homeView(views.home)) : undefined,
    ]);
  }

  /** The ephemeral `/agent connect` message, replaced; its response_url may have expired, which is fine. */
  private async replaceConnectMessage(responseUrl: string, entries: ConnectorLink[]): Promise<void> {
    await this.deps.outbox
      .respond(responseUrl, connectMessage(entries), { replaceOriginal: true })
      .catch((error: unknown) =>
        this.deps.logger.info('connect message not updated (response_url gone)', { error: String(error) }),
      );
  }
}
