import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import { type Clock, withDeadline } from '../clock.js';
import type { Connector } from '../connections/catalog.js';
import type { CatalogAccountService, CatalogAccountState } from '../connections/catalog-accounts.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import { discoverMcpAuthorization, OAuthSetupError } from '../connections/oauth/discovery.js';
import type { Principal } from '../identity/principal.js';
import type { OutboundHttp } from '../net/outbound-http.js';
import { checkUrlShape, UnsafeUrlError } from '../net/url-guard.js';
import type { CatalogTool, Store } from '../store/index.js';
import type { Work } from '../work.js';
import type { AdminAccess } from './admin-access.js';
import type { AgentService } from './agent-service.js';
import type { EnvironmentService } from './environments.js';

/** One allowed MCP server as `/agent servers` lists it. */
export interface ServerEntry {
  connector: Connector;
  /** Allow-list servers can be removed there; catalog-file ones are changed in the file. */
  removable: boolean;
  tools: CatalogTool[];
  refreshedAt?: string;
  /** The account its tools are listed with on a schedule; absent: only at people's connects. */
  catalogAccount?: CatalogAccountState;
}

export type CatalogLinkOutcome =
  | { kind: 'not_admin' }
  | { kind: 'unavailable' }
  | { kind: 'link'; connectorName: string; link: string };

/** The add-a-server form as submitted. */
export interface ServerForm {
  name: string;
  url: string;
  authType: string | undefined;
}

export type ServerListOutcome =
  | { kind: 'not_admin' }
  | { kind: 'list'; entries: ServerEntry[]; notice?: string };

export type AddServerOutcome =
  | { kind: 'not_admin' }
  | { kind: 'invalid'; field: 'name' | 'url' | 'auth'; message: string }
  | { kind: 'added'; entries: ServerEntry[] };

/** The admins' allow list of MCP servers: who may change it and what a server must pass to be on it. */
export class ServerList {
  constructor(
    private readonly deps: {
      store: Store;
      connections: ConnectionsService;
      catalogAccounts: CatalogAccountService;
      agents: AgentService;
      access: AdminAccess;
      http: OutboundHttp;
      audit: AuditLog;
      clock: Clock;
      allowPrivateNetwork: boolean;
      /** The environment sessions run in: its allowed hosts follow the list. */
      environments: Pick<EnvironmentService, 'follow'>;
      /** Where the follow-up runs, after Slack's answer: it never holds up the admin's modal. */
      work: Pick<Work, 'track'>;
    },
  ) {}

  /** `/agent servers`: the allowed servers with their tool catalogs. */
  async open(admin: Principal, correlationId: string): Promise<ServerListOutcome> {
    if (!(await this.deps.access.authorize(admin, '/agent servers', correlationId)))
      return { kind: 'not_admin' };
    return { kind: 'list', entries: await this.entries() };
  }

  /**
   * Add server: a name, a URL that passes the outbound guard and is not on the list, and metadata
   * that answers within `checkWithinMs` (OAuth servers: discovery must succeed).
   */
  async add(
    admin: Principal,
    form: ServerForm,
    correlationId: string,
    options: { checkWithinMs: number },
  ): Promise<AddServerOutcome> {
    const invalid = (field: 'name' | 'url' | 'auth', message: string) =>
      ({ kind: 'invalid', field, message }) as const;
    if (!(await this.deps.access.authorize(admin, 'allow list', correlationId))) return { kind: 'not_admin' };
    const name = form.name.trim();
    if (!name || name.length > 60) return invalid('name', 'Give the server a name of up to 60 characters.');
    const authType = form.authType;
    if (authType !== 'mcp_oauth' && authType !== 'static_token')
      return invalid('auth', 'Choose how people connect.');
    let url: URL;
    try {
      url = checkUrlShape(form.url.trim(), this.deps.allowPrivateNetwork);
    } catch (error) {
      if (!(error instanceof UnsafeUrlError)) throw error;
      if (error.reason === 'not_https') return invalid('url', 'The URL must start with https://.');
      if (error.reason === 'invalid_url') return invalid('url', 'That is not a URL.');
      return invalid('url', 'That address is not allowed: it must be a public https server.');
    }
    const catalog = await this.deps.connections.catalog();
    if (catalog.some((c) => c.mcpServerUrl === url.toString() || c.name.toLowerCase() === name.toLowerCase()))
      return invalid('url', 'That server (or one with that name) is already on the list.');
    try {
      const check: Promise<unknown> =
        authType === 'mcp_oauth'
          ? discoverMcpAuthorization(this.deps.http, url.toString())
          : this.deps.http.assertSafeUrl(url.toString());
      await withDeadline(this.deps.clock, check, options.checkWithinMs, 'checking the server');
    } catch (error) {
      const reason =
        error instanceof OAuthSetupError
          ? error.message
          : 'it did not answer in time, or its address is not allowed';
      return invalid('url', `Could not use this server’s OAuth metadata: ${reason}`.slice(0, 150));
    }
    const id = uniqueId(name, new Set(catalog.map((c) => c.id)));
    // On the record before it takes effect: no admin change goes unaudited (security R46).
    const change = { target: url.toString(), details: { added: id, authType } };
    await this.recordChange(admin, change, correlationId);
    const added = await this.deps.store.allowList.add({
      id,
      name,
      url: url.toString(),
      authType,
      addedBy: admin.userId,
      addedAt: new Date(this.deps.clock.now()).toISOString(),
    });
    if (!added) {
      await this.recordChange(admin, change, correlationId, 'lost_to_another_admin');
      return invalid('name', 'Another admin just added a server with that name.');
    }
    this.followAllowList(correlationId);
    return { kind: 'added', entries: await this.entries() };
  }

  /** Remove: an allow-list server leaves the list, unless agents still use it. */
  async remove(admin: Principal, serverId: string, correlationId: string): Promise<ServerListOutcome> {
    if (!(await this.deps.access.authorize(admin, 'allow list', correlationId))) return { kind: 'not_admin' };
    const server = (await this.deps.store.allowList.list()).find((s) => s.id === serverId);
    // A server in use stays: removing it from the list must not leave agents running with it.
    const users = server
      ? (await this.deps.agents.list()).filter((a) => a.config.servers.some((s) => s.url === server.url))
      : [];
    if (server && users.length > 0) {
      return {
        kind: 'list',
        entries: await this.entries(),
        notice: `${server.name} is used by ${users.map((a) => a.name).join(', ')}; take it out of those agents first.`,
      };
    }
    if (server) {
      const change = { target: serverId, details: { removed: serverId } };
      await this.recordChange(admin, change, correlationId);
      if (await this.deps.store.allowList.remove(serverId)) {
        try {
          // Its catalog account goes with it, revoked: nothing lists that server's tools any more.
          await this.deps.catalogAccounts.disconnect(admin, serverId, correlationId);
        } finally {
          // The environment's hosts follow the list whatever became of the catalog account.
          this.followAllowList(correlationId);
        }
      } else await this.recordChange(admin, change, correlationId, 'already_removed');
    }
    return { kind: 'list', entries: await this.entries() };
  }

  /**
   * An allow-list change on the record, written before it takes effect; `failedBecause` records
   * that one so written did not take effect after all.
   */
  private async recordChange(
    admin: Principal,
    change: { target: string; details: Record<string, string> },
    correlationId: string,
    failedBecause?: string,
  ): Promise<void> {
    await this.deps.audit.record({
      action: AuditAction.AllowListChanged,
      outcome: failedBecause ? 'failure' : 'success',
      principal: admin,
      target: change.target,
      correlationId,
      details: failedBecause ? { ...change.details, reason: failedBecause } : change.details,
    });
  }

  /**
   * The environment's allowed hosts follow the list, as tracked work: the add is answered inside
   * Slack's 3 seconds without waiting on Managed Agents (follow logs its own failures).
   */
  private followAllowList(correlationId: string): void {
    void this.deps.work.track(() => this.deps.environments.follow(correlationId));
  }

  /**
   * A single-use link for the admin to connect the server's catalog account in a browser (OAuth
   * servers only: the flow is a person's connect flow that ends in the catalog, not a vault).
   */
  async catalogLink(
    admin: Principal,
    connectorId: string,
    correlationId: string,
  ): Promise<CatalogLinkOutcome> {
    if (!(await this.deps.access.authorize(admin, 'catalog account', correlationId)))
      return { kind: 'not_admin' };
    const connector = await this.deps.connections.connector(connectorId);
    if (!connector || connector.auth.type === 'static_token') return { kind: 'unavailable' };
    const link = await this.deps.connections.mintLink(admin, connector.id, undefined, 'catalog');
    return { kind: 'link', connectorName: connector.name, link };
  }

  /** Ends the server's catalog account (revoked at the provider where it allows). */
  async disconnectCatalog(
    admin: Principal,
    connectorId: string,
    correlationId: string,
  ): Promise<ServerListOutcome> {
    if (!(await this.deps.access.authorize(admin, 'catalog account', correlationId)))
      return { kind: 'not_admin' };
    await this.deps.catalogAccounts.disconnect(admin, connectorId, correlationId);
    return { kind: 'list', entries: await this.entries() };
  }

  private async entries(): Promise<ServerEntry[]> {
    const [catalog, accounts] = await Promise.all([
      this.deps.connections.catalog(),
      this.deps.catalogAccounts.states(),
    ]);
    return Promise.all(
      catalog.map(async (connector) => {
        const catalogAccount = accounts.get(connector.id);
        const [tools, refreshedAt] = await Promise.all([
          this.deps.store.toolCatalog.list(connector.mcpServerUrl),
          this.deps.store.toolCatalog.refreshedAt(connector.mcpServerUrl),
        ]);
        return {
          connector,
          removable: connector.source === 'allow_list',
          tools,
          ...(refreshedAt ? { refreshedAt } : {}),
          ...(catalogAccount ? { catalogAccount } : {}),
        };
      }),
    );
  }
}

function uniqueId(name: string, taken: Set<string>): string {
  const base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 32) || 'server';
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
  return id;
}
