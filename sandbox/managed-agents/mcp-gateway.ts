import type { BetaManagedAgentsMCPServerURLDefinition } from '@anthropic-ai/sdk/resources/beta/agents/agents';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CredentialRecord, EmulatorState } from './store.js';
import { refreshCredential } from './token-refresh.js';
import { normalizeUrl } from './validation.js';

/** A tool as the MCP server lists it. */
export interface McpToolInfo {
  name: string;
  description?: string;
  annotations?: {
    title?: string;
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
  inputSchema: unknown;
}

/** A content block of an `agent.mcp_tool_result`. */
export type ToolResultBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; data: string; media_type: string } };

export interface McpCallResult {
  content: ToolResultBlock[];
  isError: boolean;
}

export interface McpFailure {
  type: 'mcp_authentication_failed_error' | 'mcp_connection_failed_error';
  message: string;
}

export type McpOutcome<T> = { ok: true; value: T } | { ok: false; failure: McpFailure };

type CredentialChoice =
  | { kind: 'token'; token: string; record: CredentialRecord }
  | { kind: 'none' }
  | { kind: 'unusable'; message: string };

/**
 * The platform's MCP proxy: connects to an agent's MCP server with the credential from the
 * session's vaults (the first vault, in `vault_ids` order, holding an active mcp_oauth or
 * static_bearer credential for exactly that URL), refreshing expired OAuth tokens.
 * The credential is looked up at each call, so rotations reach live sessions.
 */
export class McpGateway {
  constructor(
    private readonly state: EmulatorState,
    private readonly fetchImpl: typeof fetch | undefined,
  ) {}

  listTools(
    vaultIds: readonly string[],
    server: BetaManagedAgentsMCPServerURLDefinition,
    signal: AbortSignal,
  ): Promise<McpOutcome<McpToolInfo[]>> {
    return this.withClient(vaultIds, server, signal, async (client) => {
      const tools: McpToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { signal });
        tools.push(...(page.tools as McpToolInfo[]));
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    });
  }

  callTool(
    vaultIds: readonly string[],
    server: BetaManagedAgentsMCPServerURLDefinition,
    name: string,
    input: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<McpOutcome<McpCallResult>> {
    return this.withClient(vaultIds, server, signal, async (client) => {
      try {
        const result = (await client.callTool({ name, arguments: input }, undefined, { signal })) as {
          content?: unknown;
          structuredContent?: unknown;
          isError?: unknown;
        };
        return { content: toResultBlocks(result), isError: result.isError === true };
      } catch (error) {
        // A JSON-RPC error (unknown tool, bad arguments) is the tool's failure, not the connection's.
        if (error instanceof McpError)
          return { content: [{ type: 'text', text: error.message }], isError: true };
        throw error;
      }
    });
  }

  private async withClient<T>(
    vaultIds: readonly string[],
    server: BetaManagedAgentsMCPServerURLDefinition,
    signal: AbortSignal,
    use: (client: Client) => Promise<T>,
  ): Promise<McpOutcome<T>> {
    const credential = await this.chooseCredential(vaultIds, server.url);
    if (credential.kind === 'unusable') {
      return { ok: false, failure: { type: 'mcp_authentication_failed_error', message: credential.message } };
    }
    const first = await this.attempt(server, credential, signal, use);
    if (first.ok || first.status !== 401 || credential.kind !== 'token' || !canRefresh(credential.record)) {
      return first.ok ? first : { ok: false, failure: first.failure };
    }
    // The server rejected the access token: refresh once and retry, as the platform does.
    const refreshed = await refreshCredential(this.state, credential.record, this.fetchImpl ?? fetch);
    if (!refreshed.ok) {
      return {
        ok: false,
        failure: {
          type: 'mcp_authentication_failed_error',
          message: `token refresh failed: ${refreshed.message}`,
        },
      };
    }
    const token = credential.record.secrets.access_token ?? '';
    const second = await this.attempt(server, { ...credential, token }, signal, use);
    return second.ok ? second : { ok: false, failure: second.failure };
  }

  private async attempt<T>(
    server: BetaManagedAgentsMCPServerURLDefinition,
    credential: Exclude<CredentialChoice, { kind: 'unusable' }>,
    signal: AbortSignal,
    use: (client: Client) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; failure: McpFailure; status?: number }> {
    const headers: Record<string, string> =
      credential.kind === 'token' ? { authorization: `Bearer ${credential.token}` } : {};
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers },
      ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
    });
    const client = new Client({ name: 'claude-managed-agents-emulator', version: '1.0.0' });
    try {
      await client.connect(transport, { signal });
      return { ok: true, value: await use(client) };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const status = error instanceof StreamableHTTPError ? error.code : undefined;
      if (status === 401 || status === 403) {
        const message =
          credential.kind === 'none'
            ? `MCP server "${server.name}" answered ${status}: no credential in the session's vaults matches ${server.url}`
            : `MCP server "${server.name}" rejected the credential (${status})`;
        return { ok: false, status, failure: { type: 'mcp_authentication_failed_error', message } };
      }
      const reason = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        failure: { type: 'mcp_connection_failed_error', message: `MCP server "${server.name}": ${reason}` },
      };
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  private async chooseCredential(vaultIds: readonly string[], url: string): Promise<CredentialChoice> {
    const record = this.findCredential(vaultIds, url);
    // No credential: the platform still connects, unauthenticated.
    if (!record) return { kind: 'none' };
    const auth = record.value.auth;
    if (
      auth.type === 'mcp_oauth' &&
      auth.expires_at &&
      Date.parse(auth.expires_at) <= this.state.clock.now()
    ) {
      if (!canRefresh(record)) {
        return {
          kind: 'unusable',
          message: `The access token for ${url} expired at ${auth.expires_at} and no refresh token is stored`,
        };
      }
      const refreshed = await refreshCredential(this.state, record, this.fetchImpl ?? fetch);
      if (!refreshed.ok) {
        return {
          kind: 'unusable',
          message: `The access token for ${url} expired and refresh failed: ${refreshed.message}`,
        };
      }
    }
    const token = record.secrets.access_token ?? record.secrets.token;
    return token
      ? { kind: 'token', token, record }
      : { kind: 'unusable', message: `No usable token for ${url}` };
  }

  /** The first vault in `vault_ids` order with an active MCP credential for this exact URL. */
  findCredential(vaultIds: readonly string[], url: string): CredentialRecord | undefined {
    for (const vaultId of vaultIds) {
      const vault = this.state.vaults.get(vaultId);
      if (!vault || vault.value.archived_at) continue;
      const match = this.state
        .credentialsOf(vaultId)
        .sort((a, b) => a.seq - b.seq)
        .find(
          (c) =>
            !c.value.archived_at &&
            c.value.auth.type !== 'environment_variable' &&
            normalizeUrl(c.value.auth.mcp_server_url) === normalizeUrl(url),
        );
      if (match) return match;
    }
    return undefined;
  }
}

function canRefresh(record: CredentialRecord): boolean {
  return (
    record.value.auth.type === 'mcp_oauth' &&
    Boolean(record.value.auth.refresh && record.secrets.refresh_token)
  );
}

function toResultBlocks(result: { content?: unknown; structuredContent?: unknown }): ToolResultBlock[] {
  const content = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
  const blocks: ToolResultBlock[] = content.map((item) => {
    if (item.type === 'text') return { type: 'text', text: String(item.text ?? '') };
    if (item.type === 'image') {
      return {
        type: 'image',
        source: { type: 'base64', data: String(item.data ?? ''), media_type: String(item.mimeType ?? '') },
      };
    }
    if (item.type === 'resource') {
      const resource = (item.resource ?? {}) as { uri?: string; text?: string };
      return { type: 'text', text: resource.text ?? resource.uri ?? '' };
    }
    if (item.type === 'resource_link') return { type: 'text', text: String(item.uri ?? '') };
    return { type: 'text', text: JSON.stringify(item) };
  });
  if (blocks.length === 0 && result.structuredContent !== undefined) {
    blocks.push({ type: 'text', text: JSON.stringify(result.structuredContent) });
  }
  return blocks;
}
