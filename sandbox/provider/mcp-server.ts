import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { readBody } from '../../src/http.js';
import { sendJson } from '../http.js';
import { PRM_PATH } from './metadata.js';
import type { Grant, ProviderState, ToolCallRecord } from './state.js';
import { errorResult, type ToolContext } from './tools.js';

export const MCP_PATH = '/mcp';

function unauthorized(res: ServerResponse, state: ProviderState, error?: string): void {
  const prm = `resource_metadata="${state.config.url}${PRM_PATH}${MCP_PATH}"`;
  const challenge = error
    ? `Bearer error="${error}", error_description="The access token is invalid, expired or revoked", ${prm}`
    : `Bearer ${prm}`;
  sendJson(res, 401, { error: error ?? 'unauthorized' }, { 'www-authenticate': challenge });
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * `/mcp`: streamable HTTP in stateless mode, one McpServer per request built from the current
 * catalog (so catalog changes show on the next request). Who calls is decided by the token alone.
 */
export async function handleMcp(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProviderState,
): Promise<void> {
  const at = state.clock.now();
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) {
    state.records.mcpRequests.push({ outcome: 'missing_token', at });
    return unauthorized(res, state);
  }
  const active = state.activeAccessToken(match[1]);
  const account = active ? state.account(active.grant.accountId) : undefined;
  // Audience check: a token minted for another resource is not good here.
  if (!active || !account || active.grant.resource !== state.config.mcpUrl) {
    state.records.mcpRequests.push({ outcome: 'invalid_token', at });
    return unauthorized(res, state, 'invalid_token');
  }
  const { grant, scope } = active;
  if (req.method !== 'POST') {
    // Stateless: no standalone SSE stream and no session to delete. Clients treat 405 as "none".
    res.setHeader('allow', 'POST');
    return jsonRpcError(res, 405, -32000, 'Method not allowed');
  }
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, 1_000_000)).toString('utf8'));
  } catch {
    return jsonRpcError(res, 400, -32700, 'Parse error');
  }
  for (const message of Array.isArray(body) ? body : [body]) {
    const { method, params } = (message ?? {}) as { method?: unknown; params?: { name?: unknown } };
    if (typeof method !== 'string') continue;
    const tool = method === 'tools/call' && typeof params?.name === 'string' ? params.name : undefined;
    state.records.mcpRequests.push({
      method,
      ...(tool ? { tool } : {}),
      accountId: account.id,
      clientId: grant.clientId,
      outcome: 'ok',
      at,
    });
  }
  const server = buildServer(state, { account, clientId: grant.clientId, scope, pages: state.pages }, grant);
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

function buildServer(state: ProviderState, ctx: ToolContext, grant: Grant): McpServer {
  const server = new McpServer({ name: state.config.name, version: '1.0.0' });
  for (const tool of state.tools.values()) {
    server.registerTool(
      tool.name,
      {
        ...(tool.title ? { title: tool.title } : {}),
        description: tool.description,
        inputSchema: tool.inputSchema,
        annotations: tool.annotations,
      },
      async (args) => {
        const record = (outcome: ToolCallRecord['outcome']) =>
          state.records.calls.push({
            tool: tool.name,
            arguments: structuredClone(args),
            accountId: ctx.account.id,
            clientId: ctx.clientId,
            grantId: grant.id,
            outcome,
            at: state.clock.now(),
          });
        if (tool.requiredScope && !ctx.scope.includes(tool.requiredScope)) {
          record('insufficient_scope');
          return errorResult(`insufficient_scope: ${tool.name} needs the ${tool.requiredScope} scope`);
        }
        try {
          const result = await tool.run(args, ctx);
          record(result.isError ? 'error' : 'ok');
          return result;
        } catch (error) {
          record('error');
          return errorResult(error instanceof Error ? error.message : String(error));
        }
      },
    );
  }
  return server;
}
