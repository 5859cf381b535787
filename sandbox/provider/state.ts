import type { Clock } from '../../src/clock.js';
import type { IdSource } from '../../src/ids.js';
import { opaqueToken } from '../../src/ids.js';
import type { ProviderAccount, ProviderBehaviour } from './options.js';
import type { PageStore } from './pages.js';
import type { ProviderTool } from './tools.js';

export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface RegisteredClient {
  readonly client_id: string;
  readonly client_secret?: string;
  readonly client_id_issued_at: number;
  readonly client_secret_expires_at?: number;
  readonly redirect_uris: readonly string[];
  readonly token_endpoint_auth_method: ClientAuthMethod;
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly client_name?: string;
  readonly scope?: string;
  /** Registered through DCR, as opposed to `registerClient()` (a GitHub/Slack-style app). */
  readonly dynamic: boolean;
}

/** An authorize request waiting on the consent page; the form carries only its opaque id. */
export interface PendingAuthorization {
  readonly id: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** Whether the request named the redirect URI (then the token request must repeat it). */
  readonly redirectUriGiven: boolean;
  readonly state: string;
  readonly scope: readonly string[];
  readonly resource?: string;
  readonly codeChallenge: string;
  readonly codeChallengeMethod: 'S256' | 'plain';
  readonly expiresAt: number;
}

export interface AuthorizationCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly redirectUriGiven: boolean;
  readonly codeChallenge: string;
  readonly codeChallengeMethod: 'S256' | 'plain';
  readonly resource?: string;
  readonly scope: readonly string[];
  readonly accountId: string;
  readonly expiresAt: number;
  /** Set on the first redemption attempt, whether it succeeded or not. */
  redeemed: boolean;
  grantId?: string;
}

/** One consent: every access and refresh token descends from one grant and dies with it. */
export interface Grant {
  readonly id: string;
  readonly clientId: string;
  readonly accountId: string;
  readonly scope: readonly string[];
  readonly resource: string;
  revoked: boolean;
}

export interface AccessTokenRecord {
  readonly grantId: string;
  /** The grant's scope, or less if a refresh asked for less. */
  readonly scope: readonly string[];
  readonly expiresAt: number;
  revoked: boolean;
}

export interface RefreshTokenRecord {
  readonly grantId: string;
  /** Replaced by a newer refresh token; presenting it again is reuse. */
  rotated: boolean;
}

export interface ToolCallRecord {
  readonly tool: string;
  readonly arguments: Record<string, unknown>;
  readonly accountId: string;
  readonly clientId: string;
  readonly grantId: string;
  readonly outcome: 'ok' | 'error' | 'insufficient_scope';
  readonly at: number;
}

export interface McpRequestRecord {
  /** JSON-RPC method (`initialize`, `tools/list`, `tools/call`…); absent when refused before parsing. */
  readonly method?: string;
  readonly tool?: string;
  readonly accountId?: string;
  readonly clientId?: string;
  readonly outcome: 'ok' | 'missing_token' | 'invalid_token';
  readonly at: number;
}

export interface AuthorizationRecord {
  readonly clientId?: string;
  readonly redirectUri?: string;
  readonly scope?: string;
  readonly resource?: string;
  readonly codeChallengeMethod?: string;
  readonly statePresent: boolean;
  readonly accountId?: string;
  /** `consent_shown`, `approved`, `denied`, or the error shown or sent back. */
  readonly outcome: string;
  readonly at: number;
}

export interface TokenRequestRecord {
  readonly grantType?: string;
  readonly clientId?: string;
  readonly clientAuth?: ClientAuthMethod;
  readonly codeVerifierPresent: boolean;
  readonly resource?: string;
  readonly accountId?: string;
  /** `issued`, or the OAuth error code answered. */
  readonly outcome: string;
  readonly at: number;
}

export interface RevocationRecord {
  readonly clientId?: string;
  readonly tokenType: 'access_token' | 'refresh_token' | 'unknown';
  readonly accountId?: string;
  readonly outcome: 'revoked' | 'unknown_token' | 'other_client' | 'invalid_client' | 'invalid_request';
  readonly at: number;
}

export interface RegistrationRecord {
  readonly clientId?: string;
  readonly clientName?: string;
  readonly redirectUris: readonly string[];
  /** `registered`, or the error answered. */
  readonly outcome: string;
  readonly at: number;
}

export interface ProviderRecords {
  readonly calls: ToolCallRecord[];
  readonly mcpRequests: McpRequestRecord[];
  readonly authorizations: AuthorizationRecord[];
  readonly tokenRequests: TokenRequestRecord[];
  readonly revocations: RevocationRecord[];
  readonly registrations: RegistrationRecord[];
}

/** Everything the provider knows, shared by its endpoints. In memory; one per emulator. */
export class ProviderState {
  readonly clients = new Map<string, RegisteredClient>();
  readonly pending = new Map<string, PendingAuthorization>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly grants = new Map<string, Grant>();
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly tools = new Map<string, ProviderTool>();
  readonly records: ProviderRecords = {
    calls: [],
    mcpRequests: [],
    authorizations: [],
    tokenRequests: [],
    revocations: [],
    registrations: [],
  };

  constructor(
    readonly config: {
      readonly url: string;
      readonly mcpUrl: string;
      readonly name: string;
      readonly accounts: readonly ProviderAccount[];
      readonly scopes: readonly string[];
      readonly accessTokenTtlSeconds: number;
      readonly tokenPrefix: string;
    },
    readonly clock: Clock,
    readonly ids: IdSource,
    readonly pages: PageStore,
    public behaviour: ProviderBehaviour,
  ) {}

  account(id: string): ProviderAccount | undefined {
    return this.config.accounts.find((a) => a.id === id);
  }

  /** A secret with the emulator's prefix, e.g. `prov_at_…`. */
  secret(kind: 'at' | 'rt' | 'code' | 'cs'): string {
    return `${this.config.tokenPrefix}_${kind}_${opaqueToken()}`;
  }

  issueTokens(
    grant: Grant,
    scope: readonly string[] = grant.scope,
  ): { access_token: string; refresh_token: string; expires_in: number } {
    const ttl = this.config.accessTokenTtlSeconds;
    const access = this.secret('at');
    const refresh = this.secret('rt');
    const expiresAt = this.clock.now() + ttl * 1000;
    this.accessTokens.set(access, { grantId: grant.id, scope, expiresAt, revoked: false });
    this.refreshTokens.set(refresh, { grantId: grant.id, rotated: false });
    return { access_token: access, refresh_token: refresh, expires_in: ttl };
  }

  /** The live grant and scope behind an access token; undefined if unknown, expired or revoked. */
  activeAccessToken(token: string): { grant: Grant; scope: readonly string[] } | undefined {
    const record = this.accessTokens.get(token);
    if (!record || record.revoked || record.expiresAt <= this.clock.now()) return undefined;
    const grant = this.grants.get(record.grantId);
    return grant && !grant.revoked ? { grant, scope: record.scope } : undefined;
  }
}
