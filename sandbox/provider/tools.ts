import type { ShapeOutput, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ProviderAccount } from './options.js';
import type { PageStore } from './pages.js';

/** Who is calling: derived only from the bearer token, never from the arguments. */
export interface ToolContext {
  readonly account: ProviderAccount;
  readonly clientId: string;
  readonly scope: readonly string[];
  readonly pages: PageStore;
}

export interface ProviderTool {
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  readonly inputSchema: ZodRawShapeCompat;
  readonly annotations: ToolAnnotations;
  /** A scope the token must carry. Enforced by the provider; annotations are only hints. */
  readonly requiredScope?: string;
  run(args: Record<string, unknown>, ctx: ToolContext): CallToolResult | Promise<CallToolResult>;
}

/** Types `run`'s arguments from the schema; McpServer validates them before `run` is called. */
export function defineTool<S extends ZodRawShapeCompat>(
  tool: Omit<ProviderTool, 'inputSchema' | 'run'> & {
    inputSchema: S;
    run(args: ShapeOutput<S>, ctx: ToolContext): CallToolResult | Promise<CallToolResult>;
  },
): ProviderTool {
  return tool as unknown as ProviderTool;
}

export function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

export function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** A Notion-like catalog: two read tools, one additive write, one destructive write. */
export function defaultTools(): ProviderTool[] {
  return [
    defineTool({
      name: 'search',
      title: 'Search pages',
      description:
        'Search the pages of the connected workspace by title and content. Returns page ids and titles.',
      inputSchema: { query: z.string().describe('Words to look for') },
      annotations: { title: 'Search pages', readOnlyHint: true, openWorldHint: false },
      requiredScope: 'read',
      run: ({ query }, { account, pages }) =>
        jsonResult({ results: pages.search(account.id, query).map(({ id, title }) => ({ id, title })) }),
    }),
    defineTool({
      name: 'fetch_page',
      title: 'Fetch a page',
      description: 'Fetch one page by its id, with its full content.',
      inputSchema: { id: z.string().describe('Page id, as returned by search') },
      annotations: { title: 'Fetch a page', readOnlyHint: true, openWorldHint: false },
      requiredScope: 'read',
      run: ({ id }, { account, pages }) => {
        const page = pages.get(account.id, id);
        return page ? jsonResult(page) : errorResult(`No page with id ${id}`);
      },
    }),
    defineTool({
      name: 'create_page',
      title: 'Create a page',
      description: 'Create a new page in the workspace with a title and optional content.',
      inputSchema: { title: z.string().min(1), content: z.string().optional() },
      annotations: {
        title: 'Create a page',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
      },
      requiredScope: 'write',
      run: ({ title, content }, { account, pages }) => {
        const page = pages.create(account.id, title, content);
        return jsonResult({ id: page.id, title: page.title });
      },
    }),
    defineTool({
      name: 'delete_page',
      title: 'Delete a page',
      description: 'Permanently delete a page by its id.',
      inputSchema: { id: z.string() },
      annotations: {
        title: 'Delete a page',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
      },
      requiredScope: 'write',
      run: ({ id }, { account, pages }) =>
        pages.delete(account.id, id) ? jsonResult({ deleted: id }) : errorResult(`No page with id ${id}`),
    }),
  ];
}
