import { createHash } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import {
  AUDIT_UNAVAILABLE_TEXT,
  AuditAction,
  type AuditLog,
  isAuditUnavailable,
} from '../audit/audit-log.js';
import { type Clock, DeadlinePassed, withDeadline } from '../clock.js';
import type { AdminDirectory } from '../identity/admins.js';
import { type Principal, principalKey } from '../identity/principal.js';
import { type IdSource, opaqueToken } from '../ids.js';
import type { Logger } from '../logger.js';
import type { OutboundHttp } from '../net/outbound-http.js';
import { exactlyOnce, statusOf } from '../outcome.js';
import type { Connection, RecordedListing, StandingRefusal, Store } from '../store/index.js';
import type { VaultService } from '../vaults/vault-service.js';
import {
  type Connector,
  catalogWithAllowList,
  connectorClientAuth,
  type ScopeRequest,
  scopeRequest,
  unavailableReason,
} from './catalog.js';
import type { AdminHome, ConnectionNotices, HomeState, PersonalHome, RefreshedViews } from './notices.js';
import { type RevocationEndpoint, revokeAtProvider, SELF_REVOCATION_WINDOW_MS } from './oauth/revocation.js';
import { seal, unseal } from './sealed-box.js';
import { type DiscoveredTool, discoverTools } from './tool-discovery.js';

/** A connect link is good for this long, once. */
export const CONNECT_LINK_TTL_MS = 10 * 60 * 1000;

export type ConnectorState = 'connected' | 'needs_reconnect' | 'not_connected' | 'unavailable';

/** One line of a person's connections overview. */
export interface ConnectorEntry {
  connector: Connector;
  state: ConnectorState;
  since?: string;
  unavailableReason?: string;
}

/** A line of the overview with what its button needs: a fresh single-use link for the OAuth connectors. */
export interface ConnectorLink extends ConnectorEntry {
  link?: string;
}

/** A token pasted into the modal, checked against its server. */
export type PastedTokenCheck =
  | { kind: 'not_pasteable' }
  | { kind: 'rejected'; connector: Connector }
  | { kind: 'slow'; connector: Connector }
  | { kind: 'accepted'; connector: Connector; tools: DiscoveredTool[] };

/** Thrown by `store` for someone Deputy no longer acts for (departed, suspended, workspace stopped). */
export class StandingRefused extends Error {
  constructor(readonly refusal: StandingRefusal) {
    super(`Deputy no longer acts for this person (${refusal})`);
    this.name = 'StandingRefused';
  }
}

/** The secret part of a new credential: held in memory only, on its way into the vault. */
export type CredentialSecret =
  | {
      type: 'mcp_oauth';
      accessToken: string;
      expiresAt?: Date;
      refresh?: {
        refreshToken: string;
        clientId: string;
        tokenEndpoint: string;
        auth: { type: 'none' } | { type: 'client_secret_basic' | 'client_secret_post'; clientSecret: string };
        resource?: string;
        scope?: string;
      };
      /** How the provider ends these tokens, when it can. */
      revocation?: RevocationEndpoint & { clientId: string };
    }
  | { type: 'static_bearer'; token: string };

/**
 * What became of a token at its provider when its connection ended: `revoked` (the provider
 * confirmed), `unconfirmed` (asked, not confirmed), or `impossible` (Deputy kept no way to: a
 * pasted token, a provider without revocation, or no sealing key).
 */
export type Revocation = 'revoked' | 'unconfirmed' | 'impossible';

/** The vault did not take the credential: the token exists only in this process, and may be revoked. */
export class CredentialNotStored extends Error {
  constructor(cause: unknown) {
    super('the vault did not accept the credential', { cause });
    this.name = 'CredentialNotStored';
  }
}

/** Longest a credential save may hold its lease (a dead holder's lease expires after this). */
const SAVE_LEASE_MS = 30_000;

export interface ConnectionsServiceOptions {
  store: Store;
  anthropic: Anthropic;
  vaults: VaultService;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  http: OutboundHttp;
  /** The catalog file's (or the sandbox's) connectors; merged with the store's allow list on read. */
  connectors: Connector[];
  publicBaseUrl: string;
  notices: ConnectionNotices;
  /** Who sees the admin section of the Home tab (read without auditing: showing is not acting). */
  admins: Pick<AdminDirectory, 'isAdmin'>;
  /**
   * The person's live sessions that use a connector, stopped when they disconnect it (the sessions
   * service, bound once it exists): a credential gone from the vault must not leave an agent working
   * on with it.
   */
  liveSessions?: {
    stopUsing(principal: Principal, connectorId: string, correlationId: string): Promise<number>;
  };
  /**
   * DEPUTY_SEALING_KEY: with it, a connection's tokens are kept sealed so a disconnect can revoke
   * them at the provider; without it nothing is kept and a disconnect cannot.
   */
  sealingKey?: Buffer;
  /** DEPUTY_RETENTION_DAYS in milliseconds: a disconnected connection's record is purged after it. */
  retentionMs: number;
  /** Which of the person's agents may write with a connection (bound to the agents once they exist). */
  writers?: {
    writeNeed(
      principal: Principal,
      connectorId: string,
      readOnlyTools: readonly string[],
    ): Promise<string | undefined>;
  };
  /** Told whenever a server's tools are listed again, so agents can hold changed tools back. */
  drift?: {
    toolsSeen(serverUrl: string, listing: RecordedListing, correlationId: string): Promise<void>;
  };
  /** The admin section of an admin's Home tab (AuditTrail.overview). */
  adminOverview?: (admin: Principal) => Promise<AdminHome>;
  /** The person's agents, sessions and waiting calls, for their Home tab. */
  personalHome?: (principal: Principal) => Promise<PersonalHome | undefined>;
}

/**
 * People's connections: which connectors they have connected, the links that start a connect, and
 * the vault credential each connection lives in (docs/architecture.md#connect-flows). Tokens pass
 * through in memory only.
 */
export class ConnectionsService {
  /** The last save queued in this process per lease name: saves here wait their turn without polling. */
  private readonly saving = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ConnectionsServiceOptions) {}

  async catalog(): Promise<Connector[]> {
    return catalogWithAllowList(this.deps.connectors, await this.deps.store.allowList.list());
  }

  async connector(connectorId: string): Promise<Connector | undefined> {
    return (await this.catalog()).find((c) => c.id === connectorId);
  }

  /** Every connector with this person's state for it. */
  async overview(principal: Principal): Promise<ConnectorEntry[]> {
    const [connectors, connections] = await Promise.all([
      this.catalog(),
      this.deps.store.connections.list(principalKey(principal)),
    ]);
    return connectors.map((connector) => {
      const reason = unavailableReason(connector);
      const connection = connections.find(
        (c) => c.connectorId === connector.id && c.status !== 'disconnected',
      );
      if (connection)
        return { connector, state: connection.status, since: connection.connectedAt } as ConnectorEntry;
      if (reason) return { connector, state: 'unavailable', unavailableReason: reason };
      return { connector, state: 'not_connected' };
    });
  }

  /** The overview with a fresh single-use link on each button that opens one (OAuth connectors not connected). */
  async overviewWithLinks(principal: Principal, responseUrl?: string): Promise<ConnectorLink[]> {
    const entries = await this.overview(principal);
    return Promise.all(entries.map((entry) => this.withLink(principal, entry, responseUrl)));
  }

  /**
   * `/agent connect`: the person's vault made ready first (connections live in it), their OAuth
   * connections checked with Anthropic (so a dead one shows Reconnect), then the overview.
   */
  async connectOverview(
    principal: Principal,
    responseUrl: string,
    correlationId: string,
  ): Promise<ConnectorLink[] | { refused: StandingRefusal }> {
    const refusal = await this.deps.store.standing.refusal(principal);
    if (refusal) return { refused: refusal };
    await this.deps.vaults.ensure(principal, correlationId);
    await this.checkConnections(principal, correlationId);
    return this.overviewWithLinks(principal, responseUrl);
  }

  /** The views a notice refreshes: the `/agent connect` message when its response_url is known, and Home. */
  /** The person's Home tab: their connections with fresh links, and whether they administer Deputy. */
  async home(principal: Principal): Promise<HomeState> {
    const [entries, admin, personal] = await Promise.all([
      this.overviewWithLinks(principal),
      this.deps.admins.isAdmin(principal),
      this.deps.personalHome?.(principal),
    ]);
    const overview = admin ? await this.deps.adminOverview?.(principal) : undefined;
    return { entries, admin, ...(personal ? { personal } : {}), ...(overview ? { overview } : {}) };
  }

  async refreshedViews(
    principal: Principal,
    views: { responseUrl?: string | undefined; home: boolean },
  ): Promise<RefreshedViews> {
    const [message, home] = await Promise.all([
      views.responseUrl ? this.overviewWithLinks(principal, views.responseUrl) : undefined,
      views.home ? this.home(principal) : undefined,
    ]);
    return {
      ...(views.responseUrl && message
        ? { message: { responseUrl: views.responseUrl, entries: message } }
        : {}),
      ...(home ? { home } : {}),
    };
  }

  private async withLink(
    principal: Principal,
    entry: ConnectorEntry,
    responseUrl?: string,
  ): Promise<ConnectorLink> {
    const needsLink =
      (entry.state === 'not_connected' || entry.state === 'needs_reconnect') &&
      entry.connector.auth.type !== 'static_token';
    return needsLink
      ? { ...entry, link: await this.mintLink(principal, entry.connector.id, responseUrl) }
      : entry;
  }

  /**
   * Asks Anthropic whether each OAuth connection still works (it refreshes tokens on its own), and
   * marks the ones it reports invalid as needing a reconnect.
   */
  async checkConnections(principal: Principal, correlationId: string): Promise<void> {
    const connections = await this.deps.store.connections.list(principalKey(principal));
    await Promise.all(
      connections
        .filter((c) => c.status === 'connected' && c.authType === 'mcp_oauth')
        .map(async (connection) => {
          const check = await this.deps.anthropic.beta.vaults.credentials
            .mcpOAuthValidate(connection.credentialId, { vault_id: connection.vaultId })
            .catch((error: unknown) => {
              this.deps.logger.warn('credential check failed', { error: String(error), correlationId });
              return undefined;
            });
          if (check?.status === 'invalid')
            await this.markNeedsReconnect(connection, 'validation_failed', correlationId);
        }),
    );
  }

  /** A single-use link that starts connecting `connectorId` for this person. Only its hash is stored. */
  /**
   * What a connect asks the provider for: write scopes only when an agent this person may use
   * writes with the connector (nobody, for a catalog account), where the connector declares them.
   */
  async scopeRequest(principal: Principal | undefined, connector: Connector): Promise<ScopeRequest> {
    const splits = connector.auth.type !== 'static_token' && connector.auth.writeScopes !== undefined;
    const writer =
      principal && splits
        ? await this.deps.writers?.writeNeed(principal, connector.id, connector.readOnlyTools ?? [])
        : undefined;
    return scopeRequest(connector, writer);
  }

  async mintLink(
    principal: Principal,
    connectorId: string,
    responseUrl?: string,
    purpose?: 'catalog',
  ): Promise<string> {
    const handle = opaqueToken();
    await this.deps.store.connectHandles.create({
      handleHash: hashHandle(handle),
      principal,
      connectorId,
      ...(purpose ? { purpose } : {}),
      ...(responseUrl ? { responseUrl } : {}),
      expiresAtMs: this.deps.clock.now() + CONNECT_LINK_TTL_MS,
    });
    return `${this.deps.publicBaseUrl}/connect/${handle}`;
  }

  /**
   * Puts a credential into the person's vault for this connector, replacing an active one for the
   * same server (archive, then create: a vault holds one active credential per server URL), and
   * records the connection. Also refreshes the server's tool catalog while the token is in memory.
   */
  async store(
    principal: Principal,
    connector: Connector,
    secret: CredentialSecret,
    correlationId: string,
    /** Tools already listed with this token, to spare a second listing. */
    tools?: DiscoveredTool[],
    /** What the connect asked the provider for. */
    access?: ScopeRequest['access'],
  ): Promise<Connection> {
    // The one door into a vault: nothing is stored for someone Deputy no longer acts for.
    const refusal = await this.deps.store.standing.refusal(principal);
    if (refusal) throw new StandingRefused(refusal);
    const vault = await this.deps.vaults.ensure(principal, correlationId);
    const token = secret.type === 'mcp_oauth' ? secret.accessToken : secret.token;
    await this.recordTools(
      connector,
      tools ?? (await this.listTools(connector, token, correlationId)),
      correlationId,
    );
    return this.exclusively(`${principalKey(principal)}#${connector.id}`, async () => {
      // Names this save, so an attempt whose answer was lost (or a 409 that is its own earlier
      // attempt) is found in the vault rather than taken for a failure, and its token not revoked.
      const saveId = this.deps.ids.next('save');
      // Recorded before anything in the vault changes: no credential goes in unaudited (security
      // R46), and one refused so never reached the vault. The outcome's record names the same save.
      await this.deps.audit
        .record({
          action: AuditAction.ConnectionSaving,
          outcome: 'success',
          principal,
          target: vault.id,
          correlationId,
          details: { connector: connector.id, save: saveId, authType: secret.type },
        })
        .catch((error: unknown) => {
          throw new CredentialNotStored(error);
        });
      const archived = await this.archiveActive(principal, vault.id, connector, correlationId);
      const credentials = this.deps.anthropic.beta.vaults.credentials;
      let created: { id: string };
      try {
        created = await exactlyOnce(
          this.deps.clock,
          () =>
            credentials.create(
              vault.id,
              {
                display_name: connector.name,
                metadata: {
                  deputy_connector: connector.id,
                  deputy_principal: principalKey(principal),
                  deputy_save: saveId,
                },
                auth: credentialAuth(connector.mcpServerUrl, secret, this.deps.clock.now()),
              },
              { maxRetries: 0 },
            ),
          () => this.findSaved(vault.id, saveId),
          { conflicts: true },
        );
      } catch (error) {
        // The old credential is gone and no new one took its place: show the person a Reconnect.
        if (archived) await this.markStale(principalKey(principal), connector.id, archived);
        throw new CredentialNotStored(error);
      }
      const now = new Date(this.deps.clock.now()).toISOString();
      const connection: Connection = {
        principalKey: principalKey(principal),
        principal,
        connectorId: connector.id,
        status: 'connected',
        vaultId: vault.id,
        credentialId: created.id,
        mcpServerUrl: connector.mcpServerUrl,
        authType: secret.type,
        ...(access ? { access } : {}),
        connectedAt: now,
        updatedAt: now,
      };
      await this.deps.store.connections.put(connection);
      await this.keepRevocationHandle(connection, secret, correlationId);
      await this.deps.audit.record({
        action: AuditAction.ConnectionConnected,
        outcome: 'success',
        principal,
        target: created.id,
        correlationId,
        details: { connector: connector.id, vault: vault.id, authType: secret.type, save: saveId },
      });
      return connection;
    });
  }

  /** The active credential a save put into the vault, found by the save's id. */
  private async findSaved(vaultId: string, saveId: string): Promise<{ id: string } | undefined> {
    for await (const credential of this.deps.anthropic.beta.vaults.credentials.list(vaultId, {
      limit: 100,
    })) {
      if (!credential.archived_at && credential.metadata?.deputy_save === saveId) return credential;
    }
    return undefined;
  }

  /** Archives the vault's active credential for the connector's server; returns its id, if there was one. */
  private async archiveActive(
    principal: Principal,
    vaultId: string,
    connector: Connector,
    correlationId: string,
  ) {
    const credentials = this.deps.anthropic.beta.vaults.credentials;
    let archived: string | undefined;
    for await (const existing of credentials.list(vaultId, { limit: 100 })) {
      const url = 'mcp_server_url' in existing.auth ? existing.auth.mcp_server_url : undefined;
      if (url !== connector.mcpServerUrl || existing.archived_at) continue;
      await credentials.archive(existing.id, { vault_id: vaultId });
      archived = existing.id;
      await this.deps.audit.record({
        action: AuditAction.CredentialArchived,
        outcome: 'success',
        principal,
        target: existing.id,
        correlationId,
        details: { connector: connector.id, reason: 'replaced' },
      });
    }
    return archived;
  }

  private async markStale(key: string, connectorId: string, credentialId: string): Promise<void> {
    const at = new Date(this.deps.clock.now()).toISOString();
    await this.deps.store.connections
      .setStatus(key, connectorId, credentialId, 'needs_reconnect', at)
      .catch(() => false);
  }

  /**
   * Runs `work` holding a lease on `name`, so two saves for one person and connector (two links
   * clicked, a retried paste) cannot interleave their archive, create and record steps. Saves in
   * this process queue behind each other; another process's lease is waited out on the clock.
   */
  private exclusively<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.saving.get(name) ?? Promise.resolve();
    const turn = previous.catch(() => undefined).then(() => this.underLease(name, work));
    this.saving.set(name, turn);
    return turn.finally(() => {
      if (this.saving.get(name) === turn) this.saving.delete(name);
    });
  }

  private async underLease<T>(name: string, work: () => Promise<T>): Promise<T> {
    const { store, clock, ids } = this.deps;
    const owner = ids.next('lease');
    for (
      let attempt = 0;
      !(await store.leases.acquire(name, owner, clock.now(), SAVE_LEASE_MS));
      attempt += 1
    ) {
      if (attempt >= 100) throw new Error('another save of this connection is still running');
      await clock.sleep(100);
    }
    try {
      return await work();
    } finally {
      await store.leases.release(name, owner);
    }
  }

  /** The connector a Connect button opens the pasted-token modal for, if it takes a pasted token. */
  async pasteableConnector(connectorId: string): Promise<Connector | undefined> {
    const connector = await this.connector(connectorId);
    return connector?.auth.type === 'static_token' ? connector : undefined;
  }

  /**
   * Checks a pasted token against the server (listing its tools with it). Nothing is stored; a
   * token the server refuses is audited.
   */
  async checkPastedToken(
    principal: Principal,
    connectorId: string,
    token: string,
    correlationId: string,
    options: { answerWithinMs: number },
  ): Promise<PastedTokenCheck> {
    const connector = await this.pasteableConnector(connectorId);
    if (!connector) return { kind: 'not_pasteable' };
    const listing = discoverTools({
      mcpServerUrl: connector.mcpServerUrl,
      accessToken: token,
      fetch: this.deps.http.fetch,
    });
    try {
      const tools = await withDeadline(
        this.deps.clock,
        listing,
        options.answerWithinMs,
        'checking the token',
      );
      return { kind: 'accepted', connector, tools };
    } catch (error) {
      if (error instanceof DeadlinePassed) {
        listing.catch(() => undefined);
        this.deps.logger.warn('pasted token check took too long', { correlationId });
        return { kind: 'slow', connector };
      }
      await this.deps.audit.record({
        action: AuditAction.ConnectionRefused,
        outcome: 'refused',
        principal,
        target: connector.mcpServerUrl,
        correlationId,
        details: { connector: connector.id, reason: 'token_not_accepted' },
      });
      return { kind: 'rejected', connector };
    }
  }

  /** A checked pasted token into the person's vault; they are told how it went. */
  async savePastedToken(
    principal: Principal,
    accepted: Extract<PastedTokenCheck, { kind: 'accepted' }>,
    token: string,
    correlationId: string,
  ): Promise<void> {
    const { connector, tools } = accepted;
    try {
      await this.store(principal, connector, { type: 'static_bearer', token }, correlationId, tools);
    } catch (error) {
      const refused = error instanceof StandingRefused;
      if (!refused)
        this.deps.logger.error('saving a pasted token failed', { error: String(error), correlationId });
      await this.deps.notices.failed(
        principal,
        connector,
        refused
          ? 'Deputy does not connect accounts for you now (an admin suspended you, or you left); nothing was saved.'
          : isAuditUnavailable(error)
            ? AUDIT_UNAVAILABLE_TEXT
            : 'Deputy could not save it; please try again.',
        await this.refreshedViews(principal, { home: false }),
      );
      return;
    }
    await this.deps.notices.connected(
      principal,
      connector,
      await this.refreshedViews(principal, { home: true }),
    );
  }

  /**
   * Anthropic's `vault_credential.refresh_failed` webhook: the connection needs a reconnect, and its
   * owner hears about it. A delivery is handled once (by its id), and its receipt is forgotten if the
   * work fails, so the sender's retry is handled.
   */
  async credentialRefreshFailed(
    deliveryId: string,
    credentialId: string,
    eventId: string,
  ): Promise<'handled' | 'duplicate'> {
    if (!(await this.deps.store.webhookReceipts.first(deliveryId, this.deps.clock.now()))) return 'duplicate';
    try {
      const connection = await this.deps.store.connections.byCredential(credentialId);
      const connector = connection ? await this.connector(connection.connectorId) : undefined;
      if (connection && connector && (await this.markNeedsReconnect(connection, 'refresh_failed', eventId))) {
        const entry = await this.withLink(connection.principal, { connector, state: 'needs_reconnect' });
        await this.deps.notices.needsReconnect(
          connection.principal,
          entry,
          await this.refreshedViews(connection.principal, { home: true }),
        );
      }
      return 'handled';
    } catch (error) {
      await this.deps.store.webhookReceipts.forget(deliveryId);
      throw error;
    }
  }

  /** A webhook delivery this process does not act on is still remembered, so a replay stays a no-op. */
  async webhookSeen(deliveryId: string): Promise<'handled' | 'duplicate'> {
    return (await this.deps.store.webhookReceipts.first(deliveryId, this.deps.clock.now()))
      ? 'handled'
      : 'duplicate';
  }

  /**
   * Disconnect: archives the person's own credential for the connector and marks the connection
   * disconnected; their Home tab is refreshed. Returns the overview for the message clicked in.
   */
  async disconnect(
    principal: Principal,
    connectorId: string,
    responseUrl: string | undefined,
    correlationId: string,
  ): Promise<ConnectorLink[] | undefined> {
    const connector = await this.connector(connectorId);
    const ended = await this.archiveConnection(principal, connectorId, correlationId);
    if (ended) {
      const sessionsStopped =
        (await this.deps.liveSessions?.stopUsing(principal, connectorId, correlationId)) ?? 0;
      if (connector)
        await this.deps.notices.disconnected(principal, connector, {
          sessionsStopped,
          revocation: ended.revocation,
        });
    }
    await this.deps.notices.refreshed(principal, await this.refreshedViews(principal, { home: true }));
    return responseUrl ? this.overviewWithLinks(principal, responseUrl) : undefined;
  }

  /**
   * Everything the person has connected, gone (they left, or an admin revoked them): each connection
   * archived and marked disconnected, then every credential still active in their vault archived too,
   * whatever made it. Never creates a vault. Returns how many credentials were archived.
   */
  async archiveAll(principal: Principal, reason: string, correlationId: string): Promise<number> {
    let archived = 0;
    for (const connection of await this.deps.store.connections.list(principalKey(principal))) {
      if (await this.archiveConnection(principal, connection.connectorId, correlationId)) archived += 1;
    }
    const vault = await this.deps.vaults.find(principal, correlationId);
    if (!vault) return archived;
    const credentials = this.deps.anthropic.beta.vaults.credentials;
    for await (const credential of credentials.list(vault.id, { limit: 100 })) {
      if (credential.archived_at) continue;
      await credentials.archive(credential.id, { vault_id: vault.id });
      archived += 1;
      await this.deps.audit.record({
        action: AuditAction.CredentialArchived,
        outcome: 'success',
        principal,
        target: credential.id,
        correlationId,
        details: { reason },
      });
    }
    return archived;
  }

  /**
   * An agent changed: everyone whose connection to the connector was granted read access alone, and
   * whom an agent now needs to write with it, is asked by DM to reconnect (their connection keeps
   * working for reads meanwhile). Returns how many were asked.
   */
  async askToWiden(connectorId: string, correlationId: string): Promise<number> {
    const connector = await this.connector(connectorId);
    if (!connector || connector.auth.type === 'static_token' || !connector.auth.writeScopes) return 0;
    let asked = 0;
    for (const person of await this.deps.store.connections.membersOf(connectorId)) {
      const connection = await this.deps.store.connections.get(principalKey(person), connectorId);
      if (connection?.status !== 'connected' || connection.access !== 'read') continue;
      const writer = await this.deps.writers?.writeNeed(person, connectorId, connector.readOnlyTools ?? []);
      if (!writer) continue;
      const entry = await this.withLink(person, { connector, state: 'needs_reconnect' });
      await this.deps.notices.needsWiderAccess(person, entry, writer);
      asked += 1;
    }
    if (asked > 0)
      this.deps.logger.info('asked to reconnect for write access', {
        connector: connectorId,
        asked,
        correlationId,
      });
    return asked;
  }

  /**
   * An admin's "everyone reconnect": for each person with a connection to the connector still in
   * their vault (connected, or waiting for a reconnect), its credential archived and its token
   * revoked, their live sessions that use it stopped, and a DM with a Reconnect button. One person's
   * failure stops nobody else's; a second run finishes what the first could not.
   */
  async forceReconnect(
    connectorId: string,
    correlationId: string,
  ): Promise<{ people: number; sessionsStopped: number; failed: number }> {
    const outcome = { people: 0, sessionsStopped: 0, failed: 0 };
    const connector = await this.connector(connectorId);
    for (const person of await this.deps.store.connections.membersOf(connectorId)) {
      try {
        if (!(await this.archiveConnection(person, connectorId, correlationId))) continue;
        outcome.people += 1;
        outcome.sessionsStopped +=
          (await this.deps.liveSessions?.stopUsing(person, connectorId, correlationId)) ?? 0;
        if (!connector) continue;
        const entry = await this.withLink(person, { connector, state: 'needs_reconnect' });
        await this.deps.notices.needsReconnect(
          person,
          entry,
          await this.refreshedViews(person, { home: true }),
        );
      } catch (error) {
        outcome.failed += 1;
        this.deps.logger.warn('forcing a reconnect failed for one person', {
          error: String(error),
          correlationId,
        });
      }
    }
    return outcome;
  }

  /**
   * Archives the connection's credential, marks it disconnected, then asks the provider to end the
   * token (the vault credential is archived whatever the provider says). Undefined if there was
   * nothing to do.
   */
  private async archiveConnection(
    principal: Principal,
    connectorId: string,
    correlationId: string,
  ): Promise<{ revocation: Revocation } | undefined> {
    const connection = await this.deps.store.connections.get(principalKey(principal), connectorId);
    if (!connection || connection.status === 'disconnected') return undefined;
    // The vault check refuses (and audits) a connection whose vault is not this person's.
    const vault = await this.deps.vaults.ensure(principal, correlationId);
    if (vault.id !== connection.vaultId) {
      this.deps.logger.warn('connection names a vault that is not the person’s; not archiving there', {
        correlationId,
      });
    } else {
      await this.deps.anthropic.beta.vaults.credentials
        .archive(connection.credentialId, { vault_id: connection.vaultId })
        .catch((error: unknown) => {
          // Already archived or gone: the disconnect still stands.
          if (statusOf(error) !== 404) throw error;
        });
    }
    const at = new Date(this.deps.clock.now()).toISOString();
    const applied = await this.deps.store.connections.setStatus(
      connection.principalKey,
      connectorId,
      connection.credentialId,
      'disconnected',
      at,
    );
    // A reconnect that finished meanwhile replaced the credential: that connection stands.
    if (!applied) return undefined;
    await this.deps.store.retention.schedule(
      { kind: 'connection', principalKey: connection.principalKey, connectorId },
      Date.parse(at) + this.deps.retentionMs,
    );
    await this.deps.audit.record({
      action: AuditAction.ConnectionDisconnected,
      outcome: 'success',
      principal,
      target: connection.credentialId,
      correlationId,
      details: { connector: connectorId },
    });
    return { revocation: await this.revokeToken(connection, correlationId) };
  }

  /**
   * Revoking a Slack user token of Deputy's own app makes Slack send `tokens_revoked` for the
   * person; noted first, so that event is not taken for them leaving.
   */
  async expectSlackRevocation(principal: Principal): Promise<void> {
    await this.deps.store.standing.expectTokensRevoked(
      principalKey(principal),
      this.deps.clock.now() + SELF_REVOCATION_WINDOW_MS,
    );
  }

  /** Seals what a disconnect needs to revoke this connection's tokens; a failure only costs that. */
  private async keepRevocationHandle(
    connection: Connection,
    secret: CredentialSecret,
    correlationId: string,
  ): Promise<void> {
    const key = this.deps.sealingKey;
    if (!key || secret.type !== 'mcp_oauth' || !secret.revocation) return;
    const { style, url, clientId } = secret.revocation;
    const tokens = {
      accessToken: secret.accessToken,
      ...(secret.refresh ? { refreshToken: secret.refresh.refreshToken } : {}),
    };
    await this.deps.store.revocationHandles
      .put({
        principalKey: connection.principalKey,
        connectorId: connection.connectorId,
        credentialId: connection.credentialId,
        style,
        url,
        clientId,
        sealed: seal(key, tokens, revocationContext(connection)),
        createdAt: connection.connectedAt,
      })
      .catch((error: unknown) => {
        this.deps.logger.warn('keeping the revocation handle failed', {
          error: String(error),
          correlationId,
        });
      });
  }

  /** Ends the connection's token at its provider with its sealed handle, audits, and forgets the handle. */
  private async revokeToken(connection: Connection, correlationId: string): Promise<Revocation> {
    const { store, sealingKey } = this.deps;
    const handle = await store.revocationHandles.get(connection.principalKey, connection.connectorId);
    const connector = await this.connector(connection.connectorId);
    const tokens =
      handle && sealingKey && handle.credentialId === connection.credentialId
        ? unseal(sealingKey, handle.sealed, revocationContext(connection))
        : undefined;
    let revocation: Revocation = 'impossible';
    if (handle && connector && tokens?.accessToken) {
      if (handle.style === 'slack_auth_revoke') await this.expectSlackRevocation(connection.principal);
      const confirmed = await revokeAtProvider(this.deps.http, handle, {
        clientId: handle.clientId,
        clientAuth: connectorClientAuth(connector),
        tokens: {
          accessToken: tokens.accessToken,
          ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
        },
      });
      revocation = confirmed ? 'revoked' : 'unconfirmed';
    }
    await this.deps.audit.record({
      action: AuditAction.TokenRevoked,
      outcome: revocation === 'revoked' ? 'success' : 'failure',
      principal: connection.principal,
      target: connection.credentialId,
      correlationId,
      details: {
        connector: connection.connectorId,
        result: revocation,
        ...(handle ? { style: handle.style } : {}),
      },
    });
    if (handle)
      await store.revocationHandles.forget(
        connection.principalKey,
        connection.connectorId,
        handle.credentialId,
      );
    return revocation;
  }

  /** Marks a connection as needing a reconnect (a failed refresh or check). False if already marked or replaced. */
  async markNeedsReconnect(connection: Connection, reason: string, correlationId: string): Promise<boolean> {
    if (connection.status !== 'connected') return false;
    const at = new Date(this.deps.clock.now()).toISOString();
    const marked = await this.deps.store.connections.setStatus(
      connection.principalKey,
      connection.connectorId,
      connection.credentialId,
      'needs_reconnect',
      at,
    );
    if (marked) {
      await this.deps.audit.record({
        action: AuditAction.ConnectionNeedsReconnect,
        outcome: 'failure',
        principal: connection.principal,
        target: connection.credentialId,
        correlationId,
        details: { connector: connection.connectorId, reason },
      });
    }
    return marked;
  }

  /** The server's tools as this token sees them; none when listing fails (the connection is still worth having). */
  private async listTools(
    connector: Connector,
    token: string,
    correlationId: string,
  ): Promise<DiscoveredTool[]> {
    try {
      return await discoverTools({
        mcpServerUrl: connector.mcpServerUrl,
        accessToken: token,
        fetch: this.deps.http.fetch,
      });
    } catch (error) {
      this.deps.logger.warn('tool discovery failed', {
        connector: connector.id,
        error: String(error),
        correlationId,
      });
      return [];
    }
  }

  /** Records a listing of the server's tools, and lets drift handling hold back what changed. */
  async recordTools(connector: Connector, tools: DiscoveredTool[], correlationId: string): Promise<void> {
    if (tools.length === 0) return;
    const at = new Date(this.deps.clock.now()).toISOString();
    const recorded = await this.deps.store.toolCatalog.record(
      connector.mcpServerUrl,
      tools.map((t) => ({
        name: t.name,
        description: t.description,
        annotations: { ...t.annotations },
        hash: t.hash,
      })),
      at,
    );
    await this.deps.drift
      ?.toolsSeen(connector.mcpServerUrl, recorded, correlationId)
      .catch((error: unknown) => {
        this.deps.logger.error('drift review failed', { error: String(error), correlationId });
      });
  }
}

/** What a revocation handle's seal is bound to: this person's connection and its vault credential. */
function revocationContext(connection: Connection): string {
  return `revocation:${connection.principalKey}:${connection.connectorId}:${connection.credentialId}`;
}

export function hashHandle(handle: string): string {
  return createHash('sha256').update(handle).digest('base64url');
}

type CredentialAuth = Parameters<Anthropic['beta']['vaults']['credentials']['create']>[1]['auth'];

function credentialAuth(mcpServerUrl: string, secret: CredentialSecret, nowMs: number): CredentialAuth {
  if (secret.type === 'static_bearer')
    return { type: 'static_bearer', mcp_server_url: mcpServerUrl, token: secret.token };
  const refresh = secret.refresh;
  return {
    type: 'mcp_oauth',
    mcp_server_url: mcpServerUrl,
    access_token: secret.accessToken,
    // The API refuses an expiry in the past; a token that is already expired is left to refresh.
    ...(secret.expiresAt && secret.expiresAt.getTime() > nowMs
      ? { expires_at: secret.expiresAt.toISOString() }
      : {}),
    ...(refresh
      ? {
          refresh: {
            refresh_token: refresh.refreshToken,
            client_id: refresh.clientId,
            token_endpoint: refresh.tokenEndpoint,
            token_endpoint_auth:
              refresh.auth.type === 'none'
                ? { type: 'none' }
                : { type: refresh.auth.type, client_secret: refresh.auth.clientSecret },
            ...(refresh.resource ? { resource: refresh.resource } : {}),
            ...(refresh.scope ? { scope: refresh.scope } : {}),
          },
        }
      : {}),
  };
}
