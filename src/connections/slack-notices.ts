import type { WebClient } from '@slack/web-api';
import {
  connectedNotice,
  connectFailedNotice,
  connectMessage,
  type EntryWithLink,
  homeView,
  needsReconnectNotice,
} from '../blocks/connections.js';
import type { SlackMessage } from '../blocks/messages.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import type { Connector } from './catalog.js';
import type { ConnectNotices } from './connect-flow.js';
import type { ConnectionsService, ConnectorEntry } from './connections-service.js';

/**
 * What a person sees in Slack about their connections: the `/agent connect` message (updated in
 * place through its response_url), DMs from the app, and the App Home tab.
 */
export class SlackConnectionNotices implements ConnectNotices {
  constructor(
    private readonly deps: {
      slack: WebClient;
      connections: ConnectionsService;
      logger: Logger;
      fetch?: typeof fetch;
    },
  ) {}

  /** The overview with a fresh single-use link on each OAuth connector's button. */
  async entriesWithLinks(principal: Principal, responseUrl?: string): Promise<EntryWithLink[]> {
    const entries = await this.deps.connections.overview(principal);
    return Promise.all(entries.map((entry) => this.withLink(principal, entry, responseUrl)));
  }

  async withLink(principal: Principal, entry: ConnectorEntry, responseUrl?: string): Promise<EntryWithLink> {
    const needsLink =
      (entry.state === 'not_connected' || entry.state === 'needs_reconnect') &&
      entry.connector.auth.type !== 'static_token';
    return needsLink
      ? { ...entry, link: await this.deps.connections.mintLink(principal, entry.connector.id, responseUrl) }
      : entry;
  }

  async connectMessage(principal: Principal, responseUrl?: string): Promise<SlackMessage> {
    return connectMessage(await this.entriesWithLinks(principal, responseUrl));
  }

  async connected(principal: Principal, connector: Connector, responseUrl?: string): Promise<void> {
    await Promise.all([
      this.refreshMessage(principal, responseUrl),
      this.dm(principal, connectedNotice(connector.name)),
      this.publishHome(principal),
    ]);
  }

  async failed(
    principal: Principal,
    connector: Connector,
    reason: string,
    responseUrl?: string,
  ): Promise<void> {
    await Promise.all([
      this.refreshMessage(principal, responseUrl),
      this.dm(principal, connectFailedNotice(connector.name, reason)),
    ]);
  }

  async needsReconnect(principal: Principal, connector: Connector): Promise<void> {
    const entry = await this.withLink(principal, { connector, state: 'needs_reconnect' });
    await Promise.all([this.dm(principal, needsReconnectNotice(entry)), this.publishHome(principal)]);
  }

  async publishHome(principal: Principal): Promise<void> {
    const view = homeView(await this.entriesWithLinks(principal));
    await this.deps.slack.views.publish({ user_id: principal.userId, view });
  }

  /** Replaces the ephemeral `/agent connect` message; its response_url may have expired, which is fine. */
  async refreshMessage(principal: Principal, responseUrl?: string): Promise<void> {
    if (!responseUrl) return;
    const message = await this.connectMessage(principal, responseUrl);
    const response = await (this.deps.fetch ?? fetch)(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, response_type: 'ephemeral', ...message }),
    }).catch(() => undefined);
    if (!response?.ok)
      this.deps.logger.info('connect message not updated (response_url gone)', { status: response?.status });
  }

  async dm(principal: Principal, message: SlackMessage): Promise<void> {
    const opened = await this.deps.slack.conversations.open({ users: principal.userId });
    if (!opened.channel?.id) throw new Error('conversations.open returned no channel');
    await this.deps.slack.chat.postMessage({ channel: opened.channel.id, ...message });
  }
}
