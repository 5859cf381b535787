import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import type { AllowedServer } from '../store/index.js';
import type { ClientAuth } from './oauth/client-auth.js';
import type { RevocationEndpoint } from './oauth/revocation.js';

/**
 * The connector catalog (docs/architecture.md#connect-flows): which accounts people can connect, and how.
 * It comes from a YAML file merged with the admins' MCP server allow list in the store. Client secrets are
 * never in the file: `env:NAME` names the variable that holds them.
 */

export type TokenEndpointAuth = 'client_secret_basic' | 'client_secret_post' | 'none';

export type ConnectorAuth =
  | {
      type: 'mcp_oauth';
      /** Asked of everyone; absent: what the server's metadata offers. */
      scopes?: string[];
      /** Asked only of people whose agents may write with the connection. */
      writeScopes?: string[];
    }
  | {
      type: 'oauth_client';
      authorizationUrl: string;
      tokenUrl: string;
      /** How a disconnect ends the token at the provider; absent: it cannot. */
      revocation?: RevocationEndpoint;
      scopes: string[];
      /** Asked only of people whose agents may write with the connection. */
      writeScopes?: string[];
      scopeParameter: string;
      tokenResponse: 'standard' | 'slack_user';
      tokenEndpointAuth: TokenEndpointAuth;
      /** Absent when the environment lacks the variable: the connector is then unavailable. */
      clientId?: string;
      clientSecret?: string;
      /** The variables the file names, for telling admins what to set. */
      clientIdVariable?: string;
      clientSecretVariable?: string;
    }
  | { type: 'static_token'; help?: string };

export interface Connector {
  id: string;
  name: string;
  mcpServerUrl: string;
  auth: ConnectorAuth;
  /**
   * Tools the catalog's author vouches are read-only. Only this list spares a tool the second
   * confirmation for "allow"; the server's own readOnlyHint is a hint and never relaxes anything.
   */
  readOnlyTools?: string[];
  /** Where it came from: the catalog file or the admins' allow list. */
  source: 'file' | 'allow_list' | 'sandbox';
}

export class CatalogError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`The connector catalog ${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CatalogError';
  }
}

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, { message: 'must be lower-case letters, digits, "-" or "_"' });
const url = z.string().refine(
  (v) => {
    try {
      return ['https:', 'http:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);
const envReference = z.string().regex(/^env:[A-Z_][A-Z0-9_]*$/, {
  message: 'must be env:VARIABLE_NAME (secrets are never written in the file)',
});

const fileSchema = z.object({
  connectors: z
    .array(
      z.object({
        id,
        name: z.string().min(1).max(60),
        mcp_server_url: url,
        read_only_tools: z.array(z.string().min(1).max(128)).max(200).optional(),
        auth: z.discriminatedUnion('type', [
          z
            .object({
              type: z.literal('mcp_oauth'),
              scopes: z.array(z.string().min(1)).optional(),
              write_scopes: z.array(z.string().min(1)).optional(),
            })
            .strict(),
          z
            .object({
              type: z.literal('oauth_client'),
              authorization_url: url,
              token_url: url,
              revocation: z
                .object({ type: z.enum(['rfc7009', 'github_grant', 'slack_auth_revoke']), url })
                .strict()
                .optional(),
              scopes: z.array(z.string().min(1)).default([]),
              write_scopes: z.array(z.string().min(1)).optional(),
              scope_parameter: z
                .string()
                .regex(/^[a-z_]+$/)
                .default('scope'),
              token_response: z.enum(['standard', 'slack_user']).default('standard'),
              token_endpoint_auth: z
                .enum(['client_secret_basic', 'client_secret_post', 'none'])
                .default('client_secret_basic'),
              client_id: envReference,
              client_secret: envReference.optional(),
            })
            .strict(),
          z.object({ type: z.literal('static_token'), help: z.string().max(300).optional() }).strict(),
        ]),
      }),
    )
    .min(1),
});

/** Reads and validates a catalog file, resolving `env:` references against `environment`. */
export async function loadCatalogFile(file: string, environment: NodeJS.ProcessEnv): Promise<Connector[]> {
  let document: unknown;
  try {
    document = parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CatalogError(file, [
      `cannot be read as YAML: ${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'}`,
    ]);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    throw new CatalogError(
      file,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`),
    );
  }
  const seen = new Set<string>();
  const problems: string[] = [];
  const connectors = parsed.data.connectors.map((entry, index): Connector => {
    if (seen.has(entry.id)) problems.push(`connectors.${index}.id: "${entry.id}" appears twice`);
    seen.add(entry.id);
    const auth = entry.auth;
    const resolved: ConnectorAuth =
      auth.type === 'oauth_client'
        ? {
            type: 'oauth_client',
            authorizationUrl: auth.authorization_url,
            tokenUrl: auth.token_url,
            ...(auth.revocation
              ? { revocation: { style: auth.revocation.type, url: auth.revocation.url } }
              : {}),
            scopes: auth.scopes,
            ...(auth.write_scopes ? { writeScopes: auth.write_scopes } : {}),
            scopeParameter: auth.scope_parameter,
            tokenResponse: auth.token_response,
            tokenEndpointAuth: auth.token_endpoint_auth,
            clientIdVariable: auth.client_id.slice(4),
            clientId: environment[auth.client_id.slice(4)] || undefined,
            ...(auth.client_secret
              ? {
                  clientSecretVariable: auth.client_secret.slice(4),
                  clientSecret: environment[auth.client_secret.slice(4)] || undefined,
                }
              : {}),
          }
        : auth.type === 'mcp_oauth'
          ? {
              type: 'mcp_oauth',
              ...(auth.scopes ? { scopes: auth.scopes } : {}),
              ...(auth.write_scopes ? { writeScopes: auth.write_scopes } : {}),
            }
          : { type: 'static_token', ...(auth.help ? { help: auth.help } : {}) };
    return {
      id: entry.id,
      name: entry.name,
      mcpServerUrl: entry.mcp_server_url,
      auth: resolved,
      ...(entry.read_only_tools ? { readOnlyTools: entry.read_only_tools } : {}),
      source: 'file',
    };
  });
  if (problems.length > 0) throw new CatalogError(file, problems);
  return connectors;
}

/** Why a connector cannot be used right now, or undefined when it can. */
export function unavailableReason(connector: Connector): string | undefined {
  const { auth } = connector;
  if (auth.type !== 'oauth_client') return undefined;
  const missing = [
    !auth.clientId ? auth.clientIdVariable : undefined,
    auth.tokenEndpointAuth !== 'none' && !auth.clientSecret
      ? (auth.clientSecretVariable ?? 'a client secret')
      : undefined,
  ].filter(Boolean);
  return missing.length > 0 ? `not set up yet (an admin needs to set ${missing.join(' and ')})` : undefined;
}

/**
 * How Deputy proves itself at the connector's token and revocation endpoints: the pre-registered
 * app's secret from the environment, or nothing for a public client (dynamically registered MCP).
 */
export function connectorClientAuth(connector: Connector): ClientAuth {
  const auth = connector.auth;
  if (auth.type !== 'oauth_client' || auth.tokenEndpointAuth === 'none' || !auth.clientSecret)
    return { type: 'none' };
  return { type: auth.tokenEndpointAuth, clientSecret: auth.clientSecret };
}

/**
 * What a connect asks the provider for. `read`: the connector's scopes alone (no agent of the
 * person's writes with it); `read_write`: its write scopes too; `offered`: the connector declares no
 * split, so what it (or the server) offers. `because` names the agent that needs to write.
 */
export type ScopeRequest =
  | { access: 'read'; scopes: string[] }
  | { access: 'read_write'; scopes: string[]; because: string }
  | { access: 'offered'; scopes?: string[] };

export function scopeRequest(connector: Connector, writingAgent: string | undefined): ScopeRequest {
  const auth = connector.auth;
  if (auth.type === 'static_token' || !auth.writeScopes) {
    const scopes = auth.type === 'static_token' ? undefined : auth.scopes;
    return { access: 'offered', ...(scopes ? { scopes } : {}) };
  }
  const read = auth.scopes ?? [];
  return writingAgent
    ? {
        access: 'read_write',
        scopes: [...read, ...auth.writeScopes.filter((s) => !read.includes(s))],
        because: writingAgent,
      }
    : { access: 'read', scopes: read };
}

/** The catalog file's connectors, then allow-list servers whose id or URL the file does not already name. */
/** The whole catalog: the file's connectors, then the admins' allow-list servers as connectors. */
export function catalogWithAllowList(fromFile: Connector[], allowed: readonly AllowedServer[]): Connector[] {
  return mergeCatalog(
    fromFile,
    allowed.map((server) => ({
      id: server.id,
      name: server.name,
      mcpServerUrl: server.url,
      auth: server.authType === 'mcp_oauth' ? { type: 'mcp_oauth' } : { type: 'static_token' },
      source: 'allow_list',
    })),
  );
}

export function mergeCatalog(fromFile: Connector[], allowList: Connector[]): Connector[] {
  const ids = new Set(fromFile.map((c) => c.id));
  const urls = new Set(fromFile.map((c) => c.mcpServerUrl));
  return [...fromFile, ...allowList.filter((c) => !ids.has(c.id) && !urls.has(c.mcpServerUrl))];
}
