import type { Clock } from '../../src/clock.js';
import type { IdSource } from '../../src/ids.js';
import type { ProviderTool } from './tools.js';

/** A user of the provider itself (a Notion or Linear account), not a Slack user. */
export interface ProviderAccount {
  readonly id: string;
  readonly name: string;
  readonly email?: string;
}

/** Variants and failures a connect-flow test switches on, at start or at runtime. */
export interface ProviderBehaviour {
  /**
   * The AS metadata advertises `code_challenge_methods_supported: ['plain']`, and the authorize
   * endpoint then accepts only `plain`, as such a server would.
   */
  withoutS256: boolean;
  /**
   * The protected-resource metadata names a resource other than the MCP URL: `true` advertises
   * `${url}/not-mcp` (same origin, so an origin-only check misses it), a string advertises that URL.
   */
  resourceMismatch: boolean | string;
  /** How the token endpoint answers: normally, `500 server_error`, or `400 invalid_grant`. */
  tokenEndpoint: 'ok' | 'server_error' | 'invalid_grant';
  /** Real milliseconds the token endpoint waits before answering; a large value is a hang. */
  tokenDelayMs: number;
  /**
   * Waits after redeeming the code and issuing tokens, not before: a client that times out has lost
   * tokens the provider issued (and a second redemption of the code revokes them, RFC 6749 §4.1.2).
   */
  tokenDelayAfterRedeem: boolean;
  /**
   * Dynamic client registration: `open`; `forbidden` (advertised, but `/register` answers 403, as
   * Notion was seen to); `absent` (not advertised, 404), so a pre-registered client is needed.
   */
  registration: 'open' | 'forbidden' | 'absent';
  /** `false`: no `revocation_endpoint` in the metadata and `/revoke` answers 404. */
  revocation: boolean;
}

export interface ProviderEmulatorOptions {
  clock?: Clock;
  ids?: IdSource;
  /** Display name, shown on the consent page and as the MCP server's name. */
  name?: string;
  accounts?: readonly ProviderAccount[];
  accessTokenTtlSeconds?: number;
  /** Scopes the provider knows; write tools need `write`. */
  scopes?: readonly string[];
  /** Prefix of tokens, codes and secrets (`${prefix}_at_…`), so canary scans can tell emulators apart. */
  tokenPrefix?: string;
  /** Replaces the default Notion-like tool catalog. */
  tools?: readonly ProviderTool[];
  behaviour?: Partial<ProviderBehaviour>;
  port?: number;
}

export const DEFAULT_ACCOUNTS: readonly ProviderAccount[] = [
  { id: 'acct_alice', name: 'Alice Example', email: 'alice@example.com' },
  { id: 'acct_bob', name: 'Bob Example', email: 'bob@example.com' },
  { id: 'acct_carol', name: 'Carol Example', email: 'carol@example.com' },
];

export const DEFAULT_SCOPES: readonly string[] = ['read', 'write'];

export const DEFAULT_BEHAVIOUR: Readonly<ProviderBehaviour> = {
  withoutS256: false,
  resourceMismatch: false,
  tokenEndpoint: 'ok',
  tokenDelayMs: 0,
  tokenDelayAfterRedeem: false,
  registration: 'open',
  revocation: true,
};

/** Lifetimes that are not options: RFC 6749 recommends codes live at most ten minutes; 60 s is usual. */
export const CODE_TTL_MS = 60_000;
export const PENDING_AUTHORIZATION_TTL_MS = 10 * 60_000;
