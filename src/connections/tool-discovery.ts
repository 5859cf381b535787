import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson, sha256 } from '../fingerprint.js';
import { OutboundRequestError, UnsafeUrlError } from '../net/outbound-http.js';

export interface ToolAnnotationHints {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
  title?: string;
}

/** A tool as the server describes it. Annotations are untrusted hints; `hash` pins description and schema. */
export interface DiscoveredTool {
  name: string;
  title?: string;
  description: string;
  inputSchema: unknown;
  annotations: ToolAnnotationHints;
  hash: string;
}

/** Tool discovery failed. The message is ours: never the server's body, never the token. */
export class ToolDiscoveryError extends Error {
  override readonly name = 'ToolDiscoveryError';
  constructor(
    message: string,
    /** The HTTP status the MCP server answered, when it answered one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * sha256 (hex) of the description, a newline, and the canonical JSON of the input schema. Canonical
 * JSON has no raw newline, so the split is unambiguous. A changed hash means the tool now tells
 * the model something different (a rug pull), whatever its name.
 */
export function toolHash(description: string, inputSchema: unknown): string {
  return sha256(`${description}\n${canonicalJson(inputSchema)}`);
}

const REQUEST_TIMEOUT_MS = 20_000;
/** A server that pages forever (or loops its cursor) must not hold a connect flow open. */
const MAX_PAGES = 50;

function hints(annotations: Tool['annotations']): ToolAnnotationHints {
  const out: ToolAnnotationHints = {};
  for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
    const value = annotations?.[key];
    if (typeof value === 'boolean') out[key] = value;
  }
  if (typeof annotations?.title === 'string') out.title = annotations.title;
  return out;
}

function toDiscoveredTool(tool: Tool): DiscoveredTool {
  const description = tool.description ?? '';
  const title = tool.title ?? tool.annotations?.title;
  return {
    name: tool.name,
    ...(title ? { title } : {}),
    description,
    inputSchema: tool.inputSchema,
    annotations: hints(tool.annotations),
    hash: toolHash(description, tool.inputSchema),
  };
}

/** A safe description of what went wrong: SDK messages can quote the server's response, so they are not reused. */
function discoveryFailure(error: unknown): ToolDiscoveryError {
  if (error instanceof ToolDiscoveryError) return error;
  if (error instanceof UnsafeUrlError)
    return new ToolDiscoveryError(`Tool discovery refused the MCP server URL (${error.reason})`);
  if (error instanceof OutboundRequestError)
    return new ToolDiscoveryError(`Tool discovery failed: ${error.message}`);
  if (error instanceof StreamableHTTPError && typeof error.code === 'number' && error.code >= 100) {
    const status = error.code;
    const why = status === 401 || status === 403 ? 'refused the access token' : `answered HTTP ${status}`;
    return new ToolDiscoveryError(`The MCP server ${why}`, status);
  }
  if (error instanceof McpError)
    return new ToolDiscoveryError(`The MCP server returned JSON-RPC error ${error.code}`);
  return new ToolDiscoveryError('Tool discovery failed: the MCP server did not answer as MCP');
}

/**
 * Lists an MCP server's tools with a freshly obtained token (held in memory only), through the
 * guarded fetch. Pages through `tools/list` cursors and always closes the client.
 */
export async function discoverTools(input: {
  mcpServerUrl: string;
  accessToken: string;
  fetch: typeof fetch;
  clientName?: string;
}): Promise<DiscoveredTool[]> {
  if (!URL.canParse(input.mcpServerUrl)) throw new ToolDiscoveryError('The MCP server URL is not a URL');
  const transport = new StreamableHTTPClientTransport(new URL(input.mcpServerUrl), {
    requestInit: { headers: { Authorization: `Bearer ${input.accessToken}` } },
    fetch: input.fetch,
  });
  const client = new Client({ name: input.clientName ?? 'Deputy', version: '1.0.0' }, { capabilities: {} });
  const options = { timeout: REQUEST_TIMEOUT_MS };
  try {
    await client.connect(transport, options);
    const tools: DiscoveredTool[] = [];
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.listTools(cursor === undefined ? {} : { cursor }, options);
      tools.push(...result.tools.map(toDiscoveredTool));
      cursor = result.nextCursor;
      if (cursor === undefined) return tools;
      if (seenCursors.has(cursor))
        throw new ToolDiscoveryError('The MCP server repeated a tools/list cursor');
      seenCursors.add(cursor);
    }
    throw new ToolDiscoveryError(`The MCP server's tool list runs past ${MAX_PAGES} pages`);
  } catch (error) {
    throw discoveryFailure(error);
  } finally {
    await client.close().catch(() => undefined);
  }
}
