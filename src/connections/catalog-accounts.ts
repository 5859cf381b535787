import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Principal } from '../identity/principal.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { OutboundHttp } from '../net/outbound-http.js';
import type { CatalogAccount, Store } from '../store/index.js';
import { type Connector, connectorClientAuth } from './catalog.js';
import type { ConnectionsService } from './connections-service.js';
import { refreshAccessToken, type TokenSet } from './oauth/authorization.js';
import { type RevocationEndpoint, revokeAtProvider } from './oauth/revocation.js';
import { seal, unseal } from './sealed-box.js';
import { discoverTools, ToolDiscoveryError } from './tool-discovery.js';

/** How long a refresh may hold its lease (a dead holder's lease lapses after this). */
const REFRESH_LEASE_MS = 30_000;
/** A token this close to its expiry is refreshed before use. */
const EXPIRY_MARGIN_MS = 60_000;
/** How long the list of catalog accounts is taken as read. */
const ACCOUNTS_CACHE_MS = 30_000;

/** Why a catalog account cannot be kept. */
export class CatalogAccountRefused extends Error {
  constructor(readonly reason: 'no_sealing_key' | 'not_admin') {
    super(`the catalog account was not kept (${reason})`);
    this.name = 'CatalogAccountRefused';
  }
}

/** What the provider gave for a catalog account, and how to refresh and revoke it. */
export interface CatalogTokens {
  tokens: TokenSet;
  refresh?: {
    tokenEndpoint: string;
    clientId: string;
    resource?: string;
    responseShape: 'standard' | 'slack_user';
  };
  revocation?: RevocationEndpoint & { clientId: string };
}

/** A server's catalog account as `/agent servers` shows it. */
export interface CatalogAccountState {
  admin: Principal;
  status: CatalogAccount['status'];
  connectedAt: string;
}

export interface CatalogAccountServiceOptions {
  store: Store;
  connections: Pick<ConnectionsService, 'connector' | 'recordTools' | 'expectSlackRevocation'>;
  http: OutboundHttp;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** DEPUTY_SEALING_KEY: without it no catalog account can be kept. */
  sealingKey?: Buffer;
  /** DEPUTY_TOOL_CHECK_MINUTES in milliseconds: a catalog older than this is listed again. */
  checkIntervalMs: number;
}

/**
 * Catalog accounts (docs/architecture.md#tool-changes): one admin-connected account per MCP server,
 * its token sealed, used only to list the server's tools on a schedule and before a session starts
 * on a stale catalog, so a tool whose description or schema changed is held back before any session
 * can run it. Deputy refreshes this token itself: it is in no vault, so nobody else does.
 */
export class CatalogAccountService {
  /** The accounts as last read, so a session start does not wait on a query (see `accounts`). */
  private cached: { accounts: CatalogAccount[]; readAtMs: number } | undefined;

  constructor(private readonly deps: CatalogAccountServiceOptions) {}

  /**
   * Every catalog account, read again at most every 30 s: a start asks on every run, and an account
   * connected on another replica is picked up within that (the sweep lists on its own meanwhile).
   */
  private async accounts(): Promise<CatalogAccount[]> {
    const now = this.deps.clock.now();
    if (this.cached && now - this.cached.readAtMs < ACCOUNTS_CACHE_MS) return this.cached.accounts;
    const accounts = await this.deps.store.catalogAccounts.list();
    this.cached = { accounts, readAtMs: now };
    return accounts;
  }

  get checkIntervalMs(): number {
    return this.deps.checkIntervalMs;
  }

  /** Which servers have a catalog account, and whose, by connector id (one read, not the cache). */
  async states(): Promise<Map<string, CatalogAccountState>> {
    const accounts = await this.deps.store.catalogAccounts.list();
    return new Map(
      accounts.map((a) => [a.connectorId, { admin: a.admin, status: a.status, connectedAt: a.connectedAt }]),
    );
  }

  /** Keeps a freshly connected catalog account (replacing the one before) and lists the tools with it. */
  async save(
    admin: Principal,
    connector: Connector,
    given: CatalogTokens,
    correlationId: string,
  ): Promise<void> {
    const key = this.deps.sealingKey;
    if (!key) throw new CatalogAccountRefused('no_sealing_key');
    const previous = await this.deps.store.catalogAccounts.get(connector.id);
    const { tokens } = given;
    // On the record before it is kept: no admin change goes unaudited (security R46).
    await this.deps.audit.record({
      action: AuditAction.CatalogAccountConnected,
      outcome: 'success',
      principal: admin,
      target: connector.id,
      correlationId,
    });
    await this.deps.store.catalogAccounts.put({
      connectorId: connector.id,
      serverUrl: connector.mcpServerUrl,
      admin,
      status: 'active',
      sealed: seal(key, sealedTokens(tokens), sealContext(connector.mcpServerUrl)),
      version: (previous?.version ?? 0) + 1,
      ...(tokens.expiresAt ? { expiresAtMs: tokens.expiresAt.getTime() } : {}),
      ...(given.refresh && tokens.refreshToken ? { refresh: given.refresh } : {}),
      ...(given.revocation ? { revocation: given.revocation } : {}),
      connectedAt: new Date(this.deps.clock.now()).toISOString(),
    });
    this.cached = undefined;
    // The account a new one replaced is ended at its provider: nothing else uses it. Not where
    // revoking deletes the whole grant (GitHub keeps one per app and user): a reconnect of the same
    // account would lose the token it just got.
    if (previous && previous.revocation?.style !== 'github_grant') await this.revoke(previous, connector);
    await this.relist(connector.id, correlationId);
  }

  /** Ends the server's catalog account: revoked at the provider where it allows, then forgotten. */
  async disconnect(admin: Principal, connectorId: string, correlationId: string): Promise<boolean> {
    // On the record before it is removed (security R46); a read first, so that nothing is recorded
    // of an account that is not there (a server without one leaving the allow list, say).
    const existing = await this.deps.store.catalogAccounts.get(connectorId);
    if (!existing) return false;
    await this.deps.audit.record({
      action: AuditAction.CatalogAccountDisconnected,
      outcome: 'success',
      principal: admin,
      target: connectorId,
      correlationId,
      details: { revocable: Boolean(existing.revocation) },
    });
    const account = await this.deps.store.catalogAccounts.remove(connectorId);
    this.cached = undefined;
    if (!account) return false;
    const connector = await this.deps.connections.connector(connectorId);
    if (connector) await this.revoke(account, connector);
    return true;
  }

  /**
   * Before a session starts: the servers whose catalog is older than the check interval are listed
   * again with their catalog accounts. True when a listing happened (the agent may have changed).
   */
  async ensureFresh(serverUrls: readonly string[], correlationId: string): Promise<boolean> {
    const accounts = await this.accounts();
    let listed = false;
    for (const account of accounts.filter((a) => serverUrls.includes(a.serverUrl))) {
      if (await this.isStale(account))
        listed = (await this.relist(account.connectorId, correlationId)) || listed;
    }
    return listed;
  }

  /** The schedule: every server with a catalog account whose catalog is stale is listed again. */
  async relistStale(correlationId: string): Promise<number> {
    let listed = 0;
    for (const account of await this.deps.store.catalogAccounts.list()) {
      if ((await this.isStale(account)) && (await this.relist(account.connectorId, correlationId)))
        listed += 1;
    }
    return listed;
  }

  /** Lists the server's tools with its catalog account; false when it could not. */
  async relist(connectorId: string, correlationId: string): Promise<boolean> {
    const connector = await this.deps.connections.connector(connectorId);
    const account = await this.deps.store.catalogAccounts.get(connectorId);
    if (!connector || account?.status !== 'active') return false;
    // A token goes only to the server it was given for (a connector id reused for another URL).
    if (account.serverUrl !== connector.mcpServerUrl) {
      await this.needsReconnect(account, correlationId);
      return false;
    }
    try {
      const accessToken = await this.accessToken(account, connector);
      const tools = await discoverTools({
        mcpServerUrl: connector.mcpServerUrl,
        accessToken,
        fetch: this.deps.http.fetch,
      });
      await this.deps.connections.recordTools(connector, tools, correlationId);
      return true;
    } catch (error) {
      const refused = error instanceof ToolDiscoveryError && (error.status === 401 || error.status === 403);
      this.deps.logger.warn('catalog account listing failed', {
        connector: connectorId,
        error: String(error),
        correlationId,
      });
      if (refused || error instanceof RefreshRefused) await this.needsReconnect(account, correlationId);
      return false;
    }
  }

  private async isStale(account: CatalogAccount): Promise<boolean> {
    if (account.status !== 'active') return false;
    const refreshedAt = await this.deps.store.toolCatalog.refreshedAt(account.serverUrl);
    return !refreshedAt || Date.parse(refreshedAt) + this.deps.checkIntervalMs <= this.deps.clock.now();
  }

  /**
   * A usable access token: the kept one, or a refreshed one when it is about to expire. One replica
   * refreshes at a time (a lease), and the new tokens replace the old only if nobody else did first,
   * so a provider that rotates refresh tokens never sees one used twice.
   */
  private async accessToken(account: CatalogAccount, connector: Connector): Promise<string> {
    const { store, clock, ids } = this.deps;
    const key = this.deps.sealingKey;
    const opened = this.opened(account);
    if (!key || !opened?.accessToken) throw new RefreshRefused('the catalog account cannot be opened');
    if (this.fresh(account)) return opened.accessToken;
    if (!account.refresh || !opened.refreshToken)
      throw new RefreshRefused('the token expired and cannot be refreshed');
    const lease = `catalog-refresh#${account.connectorId}`;
    const owner = ids.next('lease');
    if (!(await store.leases.acquire(lease, owner, clock.now(), REFRESH_LEASE_MS)))
      throw new Error('another replica is refreshing this catalog account');
    try {
      const current = await store.catalogAccounts.get(account.connectorId);
      if (current && current.version !== account.version) {
        // Someone refreshed meanwhile: theirs is the token to use (this process holds the lease, so
        // it does not refresh again; anything else waits for the next listing).
        const theirs = this.opened(current)?.accessToken;
        if (current.status === 'active' && this.fresh(current) && theirs) return theirs;
        throw new Error('the catalog account moved on before its refresh');
      }
      let tokens: TokenSet;
      try {
        tokens = await refreshAccessToken(this.deps.http, {
          tokenEndpoint: account.refresh.tokenEndpoint,
          clientId: account.refresh.clientId,
          clientAuth: connectorClientAuth(connector),
          refreshToken: opened.refreshToken,
          ...(account.refresh.resource ? { resource: account.refresh.resource } : {}),
          responseShape: account.refresh.responseShape,
          now: new Date(clock.now()),
        });
      } catch (error) {
        throw new RefreshRefused(`refreshing failed: ${String(error)}`);
      }
      const kept = { ...tokens, refreshToken: tokens.refreshToken ?? opened.refreshToken };
      const { expiresAtMs: _before, ...rest } = account;
      const next: CatalogAccount = {
        ...rest,
        sealed: seal(key, sealedTokens(kept), sealContext(account.serverUrl)),
        version: account.version + 1,
        ...(tokens.expiresAt ? { expiresAtMs: tokens.expiresAt.getTime() } : {}),
      };
      if (!(await store.catalogAccounts.replace(next)))
        throw new Error('the catalog account moved on during a refresh');
      return kept.accessToken;
    } finally {
      await store.leases.release(lease, owner);
    }
  }

  private async needsReconnect(account: CatalogAccount, correlationId: string): Promise<void> {
    const marked = await this.deps.store.catalogAccounts.replace({
      ...account,
      status: 'needs_reconnect',
      version: account.version + 1,
    });
    if (!marked) return;
    await this.deps.audit.record({
      action: AuditAction.CatalogAccountNeedsReconnect,
      outcome: 'failure',
      principal: account.admin,
      target: account.connectorId,
      correlationId,
    });
  }

  /** The account's tokens, unsealed; undefined without the key or when the seal does not open. */
  private opened(account: CatalogAccount): Record<string, string> | undefined {
    const key = this.deps.sealingKey;
    return key ? unseal(key, account.sealed, sealContext(account.serverUrl)) : undefined;
  }

  /** Whether the kept access token is good for a while yet (one with no expiry always is). */
  private fresh(account: CatalogAccount): boolean {
    return (
      account.expiresAtMs === undefined || account.expiresAtMs - EXPIRY_MARGIN_MS > this.deps.clock.now()
    );
  }

  private async revoke(account: CatalogAccount, connector: Connector): Promise<boolean> {
    const opened = this.opened(account);
    if (!account.revocation || !opened?.accessToken) return false;
    if (account.revocation.style === 'slack_auth_revoke')
      await this.deps.connections.expectSlackRevocation(account.admin);
    return revokeAtProvider(this.deps.http, account.revocation, {
      clientId: account.revocation.clientId,
      clientAuth: connectorClientAuth(connector),
      tokens: {
        accessToken: opened.accessToken,
        ...(opened.refreshToken ? { refreshToken: opened.refreshToken } : {}),
      },
    });
  }
}

/** The catalog account's tokens could not be used or renewed: an admin must connect it again. */
class RefreshRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefreshRefused';
  }
}

function sealedTokens(tokens: Pick<TokenSet, 'accessToken' | 'refreshToken'>): Record<string, string> {
  return {
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
  };
}

/** What a catalog account's seal is bound to: its server. */
function sealContext(serverUrl: string): string {
  return `catalog:${serverUrl}`;
}
