import { z } from 'zod';
import {
  AUDIT_UNAVAILABLE_TEXT,
  AuditAction,
  type AuditLog,
  isAuditUnavailable,
} from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { AdminDirectory } from '../identity/admins.js';
import { type Principal, principalKey, samePerson } from '../identity/principal.js';
import type { SlackSignIn } from '../identity/slack-sign-in.js';
import { type IdSource, opaqueToken } from '../ids.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { Logger } from '../logger.js';
import { type OutboundHttp, UnsafeUrlError } from '../net/outbound-http.js';
import type { ConnectFlow, Store } from '../store/index.js';
import { type Connector, connectorClientAuth, type ScopeRequest } from './catalog.js';
import { CatalogAccountRefused, type CatalogAccountService } from './catalog-accounts.js';
import {
  CONNECT_LINK_TTL_MS,
  type ConnectionsService,
  CredentialNotStored,
  hashHandle,
  StandingRefused,
} from './connections-service.js';
import type { ConnectionNotices } from './notices.js';
import {
  buildAuthorizationUrl,
  checkCallbackIssuer,
  createPkce,
  exchangeCode,
  TokenExchangeError,
} from './oauth/authorization.js';
import { discoverMcpAuthorization, OAuthSetupError, registerClient } from './oauth/discovery.js';
import { type RevocationEndpoint, revokeAtProvider } from './oauth/revocation.js';
import { newSealKey, seal, unseal } from './sealed-box.js';

/** Paths of the browser side (docs/architecture.md#fixed-contracts). */
export const CONNECT_PATH = '/connect';
export const SLACK_SIGN_IN_CALLBACK_PATH = '/auth/slack/callback';
export const OAUTH_CALLBACK_PATH = '/oauth/callback';

/** The fixed pages a flow can end on; the browser is never sent anywhere else. */
export type FlowPage =
  | 'confirm'
  | 'connected'
  | 'expired'
  | 'not_yours'
  | 'declined'
  | 'failed'
  | 'refused'
  | 'bad_request'
  | 'unavailable'
  | 'not_allowed'
  | 'rate_limited';

/** The browser's cookies for connect flows: one per flow, named by the flow id, holding its key. */
export type FlowCookies = (flowId: string) => string | undefined;

export type FlowStep =
  | { kind: 'redirect'; location: string; setFlowCookie?: { flowId: string; key: string } }
  | {
      kind: 'page';
      status: number;
      page: FlowPage;
      connectorName?: string;
      detail?: string;
      /** The flow whose cookie the browser can drop. */
      clearFlowCookie?: string;
      /** `confirm`: what the provider will be asked for and why, and where Continue goes. */
      confirm?: { request: ScopeRequest; continueTo: string; catalog: boolean };
      setFlowCookie?: { flowId: string; key: string };
    };

export interface ConnectFlowOptions {
  store: Store;
  connections: ConnectionsService;
  /** Where an admin's catalog-account flow ends instead of a vault. */
  catalogAccounts: CatalogAccountService;
  /** Who may connect a catalog account (asked again at the callback). */
  admins: Pick<AdminDirectory, 'isAdmin'>;
  /** Absent when Sign in with Slack is not configured: then no connect can start. */
  signIn?: SlackSignIn;
  http: OutboundHttp;
  notices: ConnectionNotices;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  publicBaseUrl: string;
  /** Per-person rate limits on connects. */
  limits: Pick<RateLimiter, 'take'>;
}

const callbackQuery = z.object({
  state: z.string().min(1).max(512),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().max(200).optional(),
  iss: z.string().max(2048).optional(),
});

/**
 * The connect flow in the browser (docs/architecture.md#connect-flows): a single-use link, then Sign in
 * with Slack (the browser must be the link's person), then the provider's OAuth with state and PKCE S256,
 * then the token straight into that person's vault. Every step refuses with a fixed page and writes nothing
 * when its input is wrong.
 */
export class ConnectFlowService {
  constructor(private readonly deps: ConnectFlowOptions) {}

  private get identityRedirectUri() {
    return `${this.deps.publicBaseUrl}${SLACK_SIGN_IN_CALLBACK_PATH}`;
  }
  private get providerRedirectUri() {
    return `${this.deps.publicBaseUrl}${OAUTH_CALLBACK_PATH}`;
  }

  /** `GET /connect/:handle`: consumes the link and sends the browser to Sign in with Slack. */
  async open(handle: string): Promise<FlowStep> {
    const { store, clock } = this.deps;
    const link = /^[A-Za-z0-9_-]{20,100}$/.test(handle)
      ? await store.connectHandles.consume(hashHandle(handle), clock.now())
      : undefined;
    if (!link) return page(410, 'expired');
    const connector = await this.deps.connections.connector(link.connectorId);
    if (!connector || connector.auth.type === 'static_token') return page(404, 'unavailable');
    if (await this.deps.store.standing.refusal(link.principal))
      return page(403, 'not_allowed', connector.name);
    if (link.purpose === 'catalog' && !(await this.deps.admins.isAdmin(link.principal)))
      return page(403, 'not_allowed', connector.name);
    if (!this.deps.signIn)
      return page(503, 'unavailable', connector.name, 'Sign in with Slack is not set up.');
    const flowId = this.deps.ids.next('flow');
    // Counted when a flow starts: one link opened is one connect (the flow's id correlates it).
    const rate = await this.deps.limits.take(link.principal, 'connect', flowId);
    if (rate.kind === 'limited')
      return page(
        429,
        'rate_limited',
        connector.name,
        `At most ${rate.limit} ${rate.window === 'hour' ? 'an hour' : 'a minute'}. Try again in ${rate.retryAfterSeconds} seconds, with a fresh link from /agent connect.`,
      );
    const key = newSealKey();
    const state = opaqueToken();
    const nonce = opaqueToken();
    // A catalog account only lists tools: it is asked for read access alone.
    const request =
      link.purpose === 'catalog'
        ? await this.deps.connections.scopeRequest(undefined, connector)
        : await this.deps.connections.scopeRequest(link.principal, connector);
    await store.connectFlows.create({
      flowId,
      principal: link.principal,
      connectorId: connector.id,
      ...(link.purpose ? { purpose: link.purpose } : {}),
      scopeRequest: request,
      stage: 'identity',
      state,
      sealed: seal(key, { nonce }, flowId),
      ...(link.responseUrl ? { responseUrl: link.responseUrl } : {}),
      expiresAtMs: clock.now() + CONNECT_LINK_TTL_MS,
    });
    await this.audit(AuditAction.ConnectStarted, 'success', link.principal, connector.id, flowId);
    const location = await this.deps.signIn.authorizationUrl({
      redirectUri: this.identityRedirectUri,
      state,
      nonce,
      // The link's workspace: on Enterprise Grid Slack would otherwise ask which one.
      team: link.principal.teamId,
    });
    // What will be asked for, and why, before anything leaves for Slack or the provider.
    return {
      kind: 'page',
      status: 200,
      page: 'confirm',
      connectorName: connector.name,
      confirm: { request, continueTo: location, catalog: link.purpose === 'catalog' },
      setFlowCookie: { flowId, key: key.toString('base64url') },
    };
  }

  /** `GET /auth/slack/callback`: the browser's Slack identity must be the link's person. */
  async identityCallback(query: URLSearchParams, cookies: FlowCookies): Promise<FlowStep> {
    const opened = await this.openFlow(query, cookies, 'identity');
    if ('kind' in opened) return opened;
    const { flow, key, params } = opened;
    const { store } = this.deps;
    const connector = await this.deps.connections.connector(flow.connectorId);
    const secrets = unseal(key, flow.sealed, flow.flowId);
    if (!connector || !secrets?.nonce || !this.deps.signIn) {
      await store.connectFlows.consume(flow.flowId);
      return page(400, 'bad_request');
    }
    if (params.error) {
      await store.connectFlows.consume(flow.flowId);
      return page(200, 'declined', connector.name);
    }
    let signedIn: Principal;
    try {
      signedIn = await this.deps.signIn.identify(new URL(`${this.identityRedirectUri}?${query}`), {
        state: flow.state,
        nonce: secrets.nonce,
      });
    } catch (error) {
      await store.connectFlows.consume(flow.flowId);
      this.deps.logger.warn('sign in with slack failed', { error: String(error), flow: flow.flowId });
      return page(400, 'bad_request', connector.name, 'Signing in with Slack did not complete.');
    }
    if (!samePerson(flow.principal, signedIn)) {
      await store.connectFlows.consume(flow.flowId);
      await this.audit(
        AuditAction.ConnectIdentityMismatch,
        'refused',
        flow.principal,
        connector.id,
        flow.flowId,
        {
          signedInAs: principalKey(signedIn),
        },
      );
      return page(403, 'not_yours', connector.name);
    }
    return this.toProvider(flow, key, connector);
  }

  /** Prepares the provider's authorization and redirects to it; any refusal happens before the redirect. */
  private async toProvider(flow: ConnectFlow, key: Buffer, connector: Connector): Promise<FlowStep> {
    const { store, http } = this.deps;
    const pkce = createPkce();
    const state = opaqueToken();
    let location: string;
    let provider: NonNullable<ConnectFlow['provider']>;
    try {
      if (connector.auth.type === 'mcp_oauth') {
        const found = await discoverMcpAuthorization(http, connector.mcpServerUrl);
        const server = found.authorizationServer;
        const clientId =
          (await store.oauthClients.get(server.issuer, this.providerRedirectUri)) ??
          (await store.oauthClients.remember(
            server.issuer,
            this.providerRedirectUri,
            (
              await registerClient(http, server, {
                redirectUri: this.providerRedirectUri,
                clientName: 'Deputy',
              })
            ).clientId,
          ));
        const scope = (flow.scopeRequest?.scopes ?? found.scopes)?.join(' ');
        location = buildAuthorizationUrl({
          authorizationEndpoint: server.authorizationEndpoint,
          clientId,
          redirectUri: this.providerRedirectUri,
          state,
          codeChallenge: pkce.challenge,
          resource: found.resource,
          ...(scope ? { scope } : {}),
        });
        provider = {
          issuer: server.issuer,
          tokenEndpoint: server.tokenEndpoint,
          clientId,
          resource: found.resource,
          issuerParameterSupported: server.issuerParameterSupported ?? false,
          ...(server.revocationEndpoint ? { revocationEndpoint: server.revocationEndpoint } : {}),
        };
      } else if (connector.auth.type === 'oauth_client' && connector.auth.clientId) {
        const auth = connector.auth;
        const clientId = connector.auth.clientId;
        await http.assertSafeUrl(auth.authorizationUrl);
        await http.assertSafeUrl(auth.tokenUrl);
        const scope = (flow.scopeRequest?.scopes ?? auth.scopes).join(
          auth.scopeParameter === 'scope' ? ' ' : ',',
        );
        location = buildAuthorizationUrl({
          authorizationEndpoint: auth.authorizationUrl,
          clientId,
          redirectUri: this.providerRedirectUri,
          state,
          codeChallenge: pkce.challenge,
          ...(auth.scopeParameter === 'scope'
            ? { scope }
            : { extraParams: { [auth.scopeParameter]: scope } }),
        });
        provider = {
          tokenEndpoint: auth.tokenUrl,
          clientId,
          ...(auth.revocation
            ? { revocationEndpoint: auth.revocation.url, revocationStyle: auth.revocation.style }
            : {}),
        };
      } else {
        await store.connectFlows.consume(flow.flowId);
        return page(404, 'unavailable', connector.name);
      }
    } catch (error) {
      await store.connectFlows.consume(flow.flowId);
      const reason = setupFailure(error);
      await this.audit(AuditAction.ConnectFailed, 'refused', flow.principal, connector.id, flow.flowId, {
        reason,
      });
      await this.tellFailed(flow, connector, refusalText(reason));
      return page(502, 'refused', connector.name, refusalText(reason));
    }
    const moved = await store.connectFlows.toProviderStage(flow.flowId, flow.state, {
      state,
      sealed: seal(key, { verifier: pkce.verifier }, flow.flowId),
      provider,
    });
    if (!moved) return page(410, 'expired', connector.name);
    return { kind: 'redirect', location };
  }

  /** `GET /oauth/callback`: redeems the code with the flow's verifier and puts the token in the vault. */
  async providerCallback(query: URLSearchParams, cookies: FlowCookies): Promise<FlowStep> {
    const opened = await this.openFlow(query, cookies, 'provider');
    if ('kind' in opened) return opened;
    const { flow, key, params } = opened;
    // A flow ends at its first provider callback, whatever happens next (security R18); of two
    // callbacks racing, only the one whose delete removed the flow goes on.
    if (!(await this.deps.store.connectFlows.consume(flow.flowId))) return page(410, 'expired');
    const connector = await this.deps.connections.connector(flow.connectorId);
    const secrets = unseal(key, flow.sealed, flow.flowId);
    const provider = flow.provider;
    if (!connector || !secrets?.verifier || !provider) return page(400, 'bad_request');
    const fail = async (status: number, pageName: FlowPage, reason: string, detail: string) => {
      await this.audit(AuditAction.ConnectFailed, 'failure', flow.principal, connector.id, flow.flowId, {
        reason,
      });
      await this.tellFailed(flow, connector, detail);
      return page(status, pageName, connector.name, detail);
    };
    if (params.error) {
      return fail(
        200,
        'declined',
        params.error === 'access_denied' ? 'access_denied' : 'provider_error',
        `You did not allow Deputy to connect ${connector.name}.`,
      );
    }
    if (!params.code)
      return fail(400, 'bad_request', 'missing_code', 'The provider sent no authorization code.');
    if (
      provider.issuer &&
      !checkCallbackIssuer(provider.issuer, params.iss, provider.issuerParameterSupported ?? false)
    ) {
      return fail(400, 'bad_request', 'issuer_mismatch', 'The answer came from an unexpected issuer.');
    }
    const clientAuth = connectorClientAuth(connector);
    const revocation = revocationOf(provider);
    let tokens: Awaited<ReturnType<typeof exchangeCode>>;
    try {
      tokens = await exchangeCode(this.deps.http, {
        tokenEndpoint: provider.tokenEndpoint,
        clientId: provider.clientId,
        clientAuth,
        code: params.code,
        redirectUri: this.providerRedirectUri,
        codeVerifier: secrets.verifier,
        ...(provider.resource ? { resource: provider.resource } : {}),
        responseShape: connector.auth.type === 'oauth_client' ? connector.auth.tokenResponse : 'standard',
        now: new Date(this.deps.clock.now()),
      });
    } catch (error) {
      const reason = error instanceof TokenExchangeError ? error.code : 'unknown';
      this.deps.logger.warn('token exchange failed', { reason, connector: connector.id });
      return fail(
        502,
        'failed',
        `token_${reason}`,
        `${connector.name} did not complete the connection. Please try again.`,
      );
    }
    if (flow.purpose === 'catalog') return this.keepCatalogAccount(flow, connector, provider, tokens, fail);
    try {
      await this.deps.connections.store(
        flow.principal,
        connector,
        {
          type: 'mcp_oauth',
          accessToken: tokens.accessToken,
          ...(tokens.expiresAt ? { expiresAt: tokens.expiresAt } : {}),
          ...(tokens.refreshToken
            ? {
                refresh: {
                  refreshToken: tokens.refreshToken,
                  clientId: provider.clientId,
                  tokenEndpoint: provider.tokenEndpoint,
                  auth: clientAuth.type === 'none' ? { type: 'none' } : clientAuth,
                  ...(provider.resource ? { resource: provider.resource } : {}),
                  ...(tokens.scope ? { scope: tokens.scope } : {}),
                },
              }
            : {}),
          ...(revocation ? { revocation: { ...revocation, clientId: provider.clientId } } : {}),
        },
        flow.flowId,
        undefined,
        flow.scopeRequest?.access,
      );
    } catch (error) {
      if (error instanceof StandingRefused) return page(403, 'not_allowed', connector.name);
      this.deps.logger.error('storing the credential failed', {
        error: String(error),
        connector: connector.id,
      });
      // Only a token that never reached the vault is revoked; one that did is the person's connection.
      if (error instanceof CredentialNotStored && revocation)
        await revokeAtProvider(this.deps.http, revocation, {
          clientId: provider.clientId,
          clientAuth,
          tokens,
        });
      // Refused for want of its audit record: there is no trail to record the failure in.
      if (isAuditUnavailable(error)) {
        await this.tellFailed(flow, connector, AUDIT_UNAVAILABLE_TEXT).catch(() => undefined);
        return page(503, 'failed', connector.name, AUDIT_UNAVAILABLE_TEXT);
      }
      return fail(
        502,
        'failed',
        'vault_write_failed',
        `Deputy could not save your ${connector.name} connection. Please try again.`,
      );
    }
    await this.tellConnected(flow, connector);
    // A clean URL: the code leaves the address bar and history.
    return { kind: 'redirect', location: `${this.deps.publicBaseUrl}${CONNECT_PATH}/done/connected` };
  }

  /**
   * An admin's catalog-account flow ends here: the tokens are sealed and kept for listing the
   * server's tools, never put in a vault. Refused (and the tokens revoked) if the admin is no longer
   * one, or the deployment has no sealing key.
   */
  private async keepCatalogAccount(
    flow: ConnectFlow,
    connector: Connector,
    provider: NonNullable<ConnectFlow['provider']>,
    tokens: Awaited<ReturnType<typeof exchangeCode>>,
    fail: (status: number, pageName: FlowPage, reason: string, detail: string) => Promise<FlowStep>,
  ): Promise<FlowStep> {
    const clientAuth = connectorClientAuth(connector);
    const revocation = revocationOf(provider);
    const endTokens = async () => {
      if (revocation)
        await revokeAtProvider(this.deps.http, revocation, {
          clientId: provider.clientId,
          clientAuth,
          tokens,
        });
    };
    if (!(await this.deps.admins.isAdmin(flow.principal))) {
      await endTokens();
      return fail(403, 'not_allowed', 'not_admin', 'Only Deputy admins can connect a catalog account.');
    }
    try {
      await this.deps.catalogAccounts.save(
        flow.principal,
        connector,
        {
          tokens,
          refresh: {
            tokenEndpoint: provider.tokenEndpoint,
            clientId: provider.clientId,
            ...(provider.resource ? { resource: provider.resource } : {}),
            responseShape: connector.auth.type === 'oauth_client' ? connector.auth.tokenResponse : 'standard',
          },
          ...(revocation ? { revocation: { ...revocation, clientId: provider.clientId } } : {}),
        },
        flow.flowId,
      );
    } catch (error) {
      await endTokens();
      // Refused for want of its audit record: nothing was kept (security R46).
      if (isAuditUnavailable(error)) return page(503, 'failed', connector.name, AUDIT_UNAVAILABLE_TEXT);
      const detail =
        error instanceof CatalogAccountRefused
          ? 'Deputy keeps a catalog account only when DEPUTY_SEALING_KEY is set.'
          : `Deputy could not keep the ${connector.name} catalog account. Please try again.`;
      if (!(error instanceof CatalogAccountRefused))
        this.deps.logger.error('keeping the catalog account failed', { error: String(error) });
      return fail(502, 'failed', 'catalog_account_not_kept', detail);
    }
    try {
      await this.deps.notices.catalogAccountConnected(flow.principal, connector);
    } catch (error) {
      this.deps.logger.warn('catalog account notice failed', { error: String(error) });
    }
    return { kind: 'redirect', location: `${this.deps.publicBaseUrl}${CONNECT_PATH}/done/connected` };
  }

  /**
   * Finds the flow a callback belongs to by its `state`, and checks that this browser started it: it
   * holds the flow's cookie, whose key opens the flow's sealed secrets. A callback from another
   * browser (or with a stage out of order) ends that flow, tells its owner in Slack, and writes
   * nothing else.
   */
  private async openFlow(
    query: URLSearchParams,
    cookies: FlowCookies,
    stage: ConnectFlow['stage'],
  ): Promise<FlowStep | { flow: ConnectFlow; key: Buffer; params: z.infer<typeof callbackQuery> }> {
    const { store, clock } = this.deps;
    const parsed = callbackQuery.safeParse(Object.fromEntries(query));
    if (!parsed.success) return page(400, 'bad_request');
    const flow = await store.connectFlows.byState(parsed.data.state);
    if (!flow || flow.expiresAtMs <= clock.now()) return page(410, 'expired');
    const encodedKey = cookies(flow.flowId);
    if (encodedKey && flow.stage === stage) {
      return { flow, key: Buffer.from(encodedKey, 'base64url'), params: parsed.data };
    }
    await store.connectFlows.consume(flow.flowId);
    await this.audit(AuditAction.ConnectFailed, 'refused', flow.principal, flow.connectorId, flow.flowId, {
      reason: encodedKey ? 'wrong_stage' : 'not_this_browser',
    });
    const connector = await this.deps.connections.connector(flow.connectorId);
    if (connector) {
      await this.tellFailed(flow, connector, 'the answer did not come back to the browser that started it.');
    }
    return page(400, 'bad_request');
  }

  /** The person hears how their connect ended; a notice that cannot be sent does not change the outcome. */
  private async tellConnected(flow: ConnectFlow, connector: Connector): Promise<void> {
    try {
      const views = { responseUrl: flow.responseUrl, home: true };
      await this.deps.notices.connected(
        flow.principal,
        connector,
        await this.deps.connections.refreshedViews(flow.principal, views),
      );
    } catch (error) {
      this.deps.logger.warn('connect notice failed', { error: String(error) });
    }
  }

  private async tellFailed(flow: ConnectFlow, connector: Connector, reason: string): Promise<void> {
    try {
      const views = { responseUrl: flow.responseUrl, home: false };
      await this.deps.notices.failed(
        flow.principal,
        connector,
        reason,
        await this.deps.connections.refreshedViews(flow.principal, views),
      );
    } catch (error) {
      this.deps.logger.warn('connect notice failed', { error: String(error) });
    }
  }

  private async audit(
    action: AuditAction,
    outcome: 'success' | 'refused' | 'failure',
    principal: Principal,
    connectorId: string,
    flowId: string,
    details: Record<string, string> = {},
  ): Promise<void> {
    await this.deps.audit.record({
      action,
      outcome,
      principal,
      target: connectorId,
      correlationId: flowId,
      details,
    });
  }
}

/** How the flow's provider ends a token, if it can. */
function revocationOf(provider: NonNullable<ConnectFlow['provider']>): RevocationEndpoint | undefined {
  return provider.revocationEndpoint
    ? { style: provider.revocationStyle ?? 'rfc7009', url: provider.revocationEndpoint }
    : undefined;
}

function page(status: number, name: FlowPage, connectorName?: string, detail?: string): FlowStep {
  return {
    kind: 'page',
    status,
    page: name,
    ...(connectorName ? { connectorName } : {}),
    ...(detail ? { detail } : {}),
  };
}

function setupFailure(error: unknown): string {
  if (error instanceof OAuthSetupError) return error.code;
  if (error instanceof UnsafeUrlError) return `unsafe_url_${error.reason}`;
  return 'unknown';
}

function refusalText(reason: string): string {
  if (reason.startsWith('unsafe_url'))
    return 'The server’s sign-in addresses are not allowed (they must be public https URLs).';
  switch (reason) {
    case 'pkce_unsupported':
      return 'The server does not support PKCE with S256, which Deputy requires.';
    case 'resource_mismatch':
      return 'The server’s metadata names a different resource than its own address.';
    case 'registration_unsupported':
    case 'registration_failed':
      return 'The server would not register Deputy as a client.';
    default:
      return 'The server’s sign-in could not be set up.';
  }
}
