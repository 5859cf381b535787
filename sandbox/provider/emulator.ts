import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { systemClock } from '../../src/clock.js';
import type { ListeningServer } from '../../src/http.js';
import { randomIds } from '../../src/ids.js';
import { listenOnLoopback, type RequestHandler, sendJson } from '../http.js';
import { DECISION_PATH, handleAuthorize, handleDecision } from './authorize.js';
import { addPreRegisteredClient, handleRegister, type PreRegisteredClient } from './clients.js';
import { handleMcp, MCP_PATH } from './mcp-server.js';
import {
  AS_METADATA_PATH,
  authorizationServerMetadata,
  PRM_PATH,
  protectedResourceMetadata,
} from './metadata.js';
import {
  DEFAULT_ACCOUNTS,
  DEFAULT_BEHAVIOUR,
  DEFAULT_SCOPES,
  type ProviderAccount,
  type ProviderBehaviour,
  type ProviderEmulatorOptions,
} from './options.js';
import { type Page, PageStore } from './pages.js';
import { handleGrantDeletion, handleRevoke } from './revoke.js';
import { handleSettingsCreate, handleSettingsPage, SETTINGS_TOKENS_PATH } from './settings.js';
import {
  type AuthorizationRecord,
  type McpRequestRecord,
  ProviderState,
  type RegisteredClient,
  type RegistrationRecord,
  type RevocationRecord,
  type TokenRequestRecord,
  type ToolCallRecord,
} from './state.js';
import { handleToken } from './token.js';
import { defaultTools, type ProviderTool } from './tools.js';

export interface TokenInfo {
  readonly kind: 'access_token' | 'refresh_token';
  readonly accountId: string;
  readonly clientId: string;
  readonly scope: readonly string[];
  /** Usable now: not expired, revoked, rotated out, or part of a revoked grant. */
  readonly active: boolean;
}

/**
 * An OAuth 2.1 authorization server and MCP server on loopback, standing in for a hosted MCP
 * provider such as Notion or Linear: RFC 9728/8414 metadata, DCR, PKCE, consent with a choice of
 * the provider's own accounts, rotating refresh tokens, revocation, and a bearer-protected MCP
 * endpoint that records which account's token made each tool call.
 */
export class ProviderEmulator {
  private closed = false;
  private readonly cancelWaits = new Set<() => void>();

  private readonly initialBehaviour: Readonly<ProviderBehaviour>;

  private constructor(
    private readonly loopback: ListeningServer,
    private readonly state: ProviderState,
  ) {
    this.initialBehaviour = { ...state.behaviour };
  }

  static async start(options: ProviderEmulatorOptions = {}): Promise<ProviderEmulator> {
    const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
    if (new Set(accounts.map((a) => a.id)).size !== accounts.length)
      throw new Error('account ids must be unique');
    let route: RequestHandler = (_req, res) => sendJson(res, 503, { error: 'starting' });
    const loopback = await listenOnLoopback((req, res) => route(req, res), options.port ?? 0);
    const clock = options.clock ?? systemClock;
    const ids = options.ids ?? randomIds;
    const state = new ProviderState(
      {
        url: loopback.url,
        mcpUrl: `${loopback.url}${MCP_PATH}`,
        name: options.name ?? 'Notion (sandbox)',
        accounts,
        scopes: options.scopes ?? DEFAULT_SCOPES,
        accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
        tokenPrefix: options.tokenPrefix ?? 'prov',
      },
      clock,
      ids,
      new PageStore(ids, clock),
      { ...DEFAULT_BEHAVIOUR, ...options.behaviour },
    );
    for (const tool of options.tools ?? defaultTools()) state.tools.set(tool.name, tool);
    for (const account of accounts) {
      state.pages.create(account.id, `${account.name}'s notes`, `Private notes of ${account.name}.`);
    }
    const emulator = new ProviderEmulator(loopback, state);
    route = (req, res) => emulator.route(req, res);
    return emulator;
  }

  /** The issuer and base URL, `http://127.0.0.1:PORT`. */
  get url(): string {
    return this.state.config.url;
  }

  /** The MCP endpoint and RFC 8707 resource, `${url}/mcp`. */
  get mcpUrl(): string {
    return this.state.config.mcpUrl;
  }

  get name(): string {
    return this.state.config.name;
  }

  get accounts(): readonly ProviderAccount[] {
    return this.state.config.accounts;
  }

  get protectedResourceMetadataUrl(): string {
    return `${this.url}${PRM_PATH}${MCP_PATH}`;
  }

  get authorizationServerMetadataUrl(): string {
    return `${this.url}${AS_METADATA_PATH}`;
  }

  // Behaviour

  get behaviour(): Readonly<ProviderBehaviour> {
    return this.state.behaviour;
  }

  setBehaviour(patch: Partial<ProviderBehaviour>): void {
    this.state.behaviour = { ...this.state.behaviour, ...patch };
  }

  /** Back to the behaviour the emulator started with. */
  resetBehaviour(): void {
    this.state.behaviour = { ...this.initialBehaviour };
  }

  // Clients

  /** Pre-registers a client (a GitHub/Slack-style app with a secret, or a public one). */
  registerClient(client: PreRegisteredClient): RegisteredClient {
    return addPreRegisteredClient(this.state, client);
  }

  client(clientId: string): RegisteredClient | undefined {
    return this.state.clients.get(clientId);
  }

  clients(): readonly RegisteredClient[] {
    return [...this.state.clients.values()];
  }

  // Tool catalog: changes apply from the next MCP request.

  tools(): readonly ProviderTool[] {
    return [...this.state.tools.values()];
  }

  addTool(tool: ProviderTool): void {
    if (this.state.tools.has(tool.name)) throw new Error(`tool ${tool.name} already exists`);
    this.state.tools.set(tool.name, tool);
  }

  removeTool(name: string): void {
    this.state.tools.delete(name);
  }

  setToolDescription(name: string, description: string): void {
    this.state.tools.set(name, { ...this.tool(name), description });
  }

  setToolAnnotations(name: string, annotations: ToolAnnotations): void {
    this.state.tools.set(name, { ...this.tool(name), annotations });
  }

  private tool(name: string): ProviderTool {
    const tool = this.state.tools.get(name);
    if (!tool) throw new Error(`no tool ${name}`);
    return tool;
  }

  // Pages (each account's own content)

  pages(accountId: string): readonly Page[] {
    return this.state.pages.list(accountId);
  }

  addPage(accountId: string, page: { title: string; content?: string }): Page {
    return this.state.pages.create(accountId, page.title, page.content);
  }

  // Records

  /** Every MCP tool call, with the account and client whose token made it. */
  get calls(): readonly ToolCallRecord[] {
    return this.state.records.calls;
  }

  callsBy(accountId: string): readonly ToolCallRecord[] {
    return this.calls.filter((c) => c.accountId === accountId);
  }

  get mcpRequests(): readonly McpRequestRecord[] {
    return this.state.records.mcpRequests;
  }

  get authorizations(): readonly AuthorizationRecord[] {
    return this.state.records.authorizations;
  }

  get tokenRequests(): readonly TokenRequestRecord[] {
    return this.state.records.tokenRequests;
  }

  get revocations(): readonly RevocationRecord[] {
    return this.state.records.revocations;
  }

  get registrations(): readonly RegistrationRecord[] {
    return this.state.records.registrations;
  }

  clearRecords(): void {
    for (const list of Object.values(this.state.records)) list.length = 0;
  }

  // Tokens

  /** Every access and refresh token ever issued: canaries to search storage and logs for. */
  issuedTokens(): readonly string[] {
    return [...this.state.accessTokens.keys(), ...this.state.refreshTokens.keys()];
  }

  tokenInfo(token: string): TokenInfo | undefined {
    const access = this.state.accessTokens.get(token);
    const refresh = this.state.refreshTokens.get(token);
    const grant = this.state.grants.get(access?.grantId ?? refresh?.grantId ?? '');
    if (!grant) return undefined;
    const base = { accountId: grant.accountId, clientId: grant.clientId };
    if (access) {
      return {
        ...base,
        kind: 'access_token',
        scope: access.scope,
        active: !!this.state.activeAccessToken(token),
      };
    }
    return {
      ...base,
      kind: 'refresh_token',
      scope: grant.scope,
      active: !grant.revoked && !refresh?.rotated,
    };
  }

  /**
   * Whether a token was revoked (itself, or the grant behind it: a revocation, a replayed code),
   * whatever its expiry. Unknown tokens are not revoked.
   */
  tokenRevoked(token: string): boolean {
    const access = this.state.accessTokens.get(token);
    const grantId = access?.grantId ?? this.state.refreshTokens.get(token)?.grantId;
    const grant = grantId ? this.state.grants.get(grantId) : undefined;
    return access?.revoked === true || grant?.revoked === true;
  }

  /**
   * What a user does in the provider's settings to get an API key to paste: a personal access token
   * for `accountId`, long-lived, with no OAuth client behind it.
   */
  issuePersonalToken(accountId: string, scope: readonly string[] = this.state.config.scopes): string {
    if (!this.state.account(accountId)) throw new Error(`unknown account ${accountId}`);
    const grant = {
      id: this.state.ids.next('grant'),
      clientId: 'personal-access-token',
      accountId,
      scope,
      resource: this.state.config.mcpUrl,
      revoked: false,
    };
    this.state.grants.set(grant.id, grant);
    const token = this.state.secret('at');
    this.state.accessTokens.set(token, {
      grantId: grant.id,
      scope,
      expiresAt: Number.MAX_SAFE_INTEGER,
      revoked: false,
    });
    return token;
  }

  /** What a user does in the provider's settings: ends every grant of `accountId`. */
  revokeAccount(accountId: string): void {
    for (const grant of this.state.grants.values()) if (grant.accountId === accountId) grant.revoked = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const cancel of [...this.cancelWaits]) cancel();
    await this.loopback.close();
  }

  /** Real time, not the injected clock: a delay is about a client's patience. */
  private wait(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (completed: boolean) => {
        clearTimeout(timer);
        this.cancelWaits.delete(cancel);
        resolve(completed);
      };
      const cancel = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      this.cancelWaits.add(cancel);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const cors = { 'access-control-allow-origin': '*' };
    if (method === 'GET' && (path === `${PRM_PATH}${MCP_PATH}` || path === PRM_PATH)) {
      return sendJson(res, 200, protectedResourceMetadata(this.state), cors);
    }
    if (method === 'GET' && path === AS_METADATA_PATH) {
      return sendJson(res, 200, authorizationServerMetadata(this.state), cors);
    }
    if (path === MCP_PATH) return handleMcp(req, res, this.state);
    if (method === 'GET' && path === '/authorize') return handleAuthorize(res, this.state, url);
    if (method === 'POST' && path === DECISION_PATH) return handleDecision(req, res, this.state);
    if (method === 'POST' && path === '/register') return handleRegister(req, res, this.state);
    if (method === 'POST' && path === '/token')
      return handleToken(req, res, this.state, (ms) => this.wait(ms));
    if (method === 'POST' && path === '/revoke') return handleRevoke(req, res, this.state);
    const grantPath = /^\/applications\/([^/]+)\/grant$/.exec(path);
    if (method === 'DELETE' && grantPath)
      return handleGrantDeletion(req, res, this.state, decodeURIComponent(grantPath[1] ?? ''));
    if (method === 'GET' && path === SETTINGS_TOKENS_PATH) return handleSettingsPage(res, this.state);
    if (method === 'POST' && path === SETTINGS_TOKENS_PATH)
      return handleSettingsCreate(req, res, this.state, (account) => this.issuePersonalToken(account));
    sendJson(res, 404, { error: 'not_found' });
  }
}
