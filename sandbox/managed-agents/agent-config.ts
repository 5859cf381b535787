import type {
  BetaManagedAgentsAgent,
  BetaManagedAgentsAgentToolConfig,
  BetaManagedAgentsMCPServerURLDefinition,
  BetaManagedAgentsModelConfig,
} from '@anthropic-ai/sdk/resources/beta/agents/agents';
import { z } from 'zod';
import { badRequest } from './errors.js';
import { httpUrl } from './validation.js';

/**
 * Agent configuration shared by agents and session overrides: the request schemas for model,
 * MCP servers, tools and skills, their cross-checks, and the "resolved" form responses carry.
 */

export type AgentTools = BetaManagedAgentsAgent['tools'];
export type PermissionPolicy = { type: 'always_allow' } | { type: 'always_ask' } | { type: 'auto' };

export const MAX_MCP_SERVERS = 20;
/**
 * Tools an agent may name across all its toolsets. The SDK's docs say 256 and Anthropic's guides
 * 128: the emulator holds to the stricter. Each toolset config and each custom tool counts one.
 */
export const MAX_AGENT_TOOLS = 128;
const AGENT_TOOL_NAMES = [
  'bash',
  'edit',
  'read',
  'write',
  'glob',
  'grep',
  'web_fetch',
  'web_search',
] as const;

const permissionPolicy = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('always_allow') }),
  z.strictObject({ type: z.literal('always_ask') }),
  z.strictObject({ type: z.literal('auto') }),
]);

const toolsetDefaultConfig = z.strictObject({
  enabled: z.boolean().nullish(),
  permission_policy: permissionPolicy.nullish(),
});

const domainList = z.array(z.string().min(1)).min(1).max(64);

const agentToolConfig = z
  .strictObject({
    name: z.enum(AGENT_TOOL_NAMES),
    type: z.enum(AGENT_TOOL_NAMES).optional(),
    enabled: z.boolean().nullish(),
    permission_policy: permissionPolicy.nullish(),
    allowed_domains: domainList.optional(),
    blocked_domains: domainList.optional(),
    max_content_tokens: z.number().int().positive().nullish(),
    url_sources: z.unknown().optional(),
    user_location: z.unknown().optional(),
  })
  .refine((c) => !(c.allowed_domains && c.blocked_domains), {
    message: 'allowed_domains and blocked_domains cannot both be set',
  });

const mcpToolConfig = z.strictObject({
  name: z.string().min(1).max(128),
  enabled: z.boolean().nullish(),
  permission_policy: permissionPolicy.nullish(),
});

export const toolSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('agent_toolset_20260401'),
    default_config: toolsetDefaultConfig.nullish(),
    configs: z.array(agentToolConfig).optional(),
  }),
  z.strictObject({
    type: z.literal('mcp_toolset'),
    mcp_server_name: z.string().min(1).max(255),
    default_config: toolsetDefaultConfig.nullish(),
    configs: z.array(mcpToolConfig).optional(),
  }),
  z.strictObject({
    type: z.literal('custom'),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'Input should be 1-128 letters, digits, _ or -'),
    description: z.string().min(1).max(10_000),
    input_schema: z.looseObject({ type: z.literal('object') }),
  }),
]);
export type ToolParams = z.infer<typeof toolSchema>;

export const mcpServerSchema = z.strictObject({
  type: z.literal('url'),
  name: z.string().min(1).max(255),
  url: httpUrl(2047),
});
export type McpServerParams = z.infer<typeof mcpServerSchema>;

const effortLevel = z.enum(['low', 'medium', 'high', 'xhigh', 'max']);
export const modelSchema = z.union([
  z.string().min(1),
  z.strictObject({
    id: z.string().min(1),
    effort: z.union([effortLevel, z.strictObject({ type: effortLevel })]).nullish(),
    speed: z.enum(['standard', 'fast']).nullish(),
    inference_geo: z.string().nullish(),
  }),
]);

export const skillSchema = z.strictObject({
  type: z.enum(['anthropic', 'custom']),
  skill_id: z.string().min(1),
  version: z.string().nullish(),
});

export const executionIdentitySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('service_account') }),
  z.strictObject({ type: z.literal('aws_role'), role_arn: z.string().min(1) }),
]);

export function resolveModel(model: z.infer<typeof modelSchema>): BetaManagedAgentsModelConfig {
  if (typeof model === 'string') return { id: model };
  const resolved: BetaManagedAgentsModelConfig = { id: model.id };
  if (model.effort)
    resolved.effort = typeof model.effort === 'string' ? { type: model.effort } : model.effort;
  if (model.speed) resolved.speed = model.speed;
  if (model.inference_geo) resolved.inference_geo = model.inference_geo;
  return resolved;
}

export function resolveSkills(
  skills: z.infer<typeof skillSchema>[] | null | undefined,
): BetaManagedAgentsAgent['skills'] {
  return (skills ?? []).map((s) => ({ type: s.type, skill_id: s.skill_id, version: s.version ?? 'latest' }));
}

/**
 * Cross-field rules: server names unique and at most 20; every server referenced by exactly one
 * mcp_toolset and every mcp_toolset naming a declared server; one agent toolset; unique names.
 */
export function checkServersAndTools(
  servers: readonly McpServerParams[],
  tools: readonly ToolParams[],
): void {
  if (servers.length > MAX_MCP_SERVERS) throw badRequest(`mcp_servers: at most ${MAX_MCP_SERVERS} servers`);
  const names = new Set<string>();
  for (const server of servers) {
    if (names.has(server.name)) throw badRequest(`mcp_servers: duplicate server name "${server.name}"`);
    names.add(server.name);
  }
  const referenced = new Map<string, number>();
  let agentToolsets = 0;
  const customNames = new Set<string>();
  for (const tool of tools) {
    if (tool.type === 'mcp_toolset') {
      if (!names.has(tool.mcp_server_name)) {
        throw badRequest(`tools: mcp_toolset references unknown MCP server "${tool.mcp_server_name}"`);
      }
      referenced.set(tool.mcp_server_name, (referenced.get(tool.mcp_server_name) ?? 0) + 1);
      assertUniqueConfigNames(tool.configs ?? [], tool.mcp_server_name);
    } else if (tool.type === 'agent_toolset_20260401') {
      agentToolsets += 1;
      assertUniqueConfigNames(tool.configs ?? [], tool.type);
    } else {
      if (customNames.has(tool.name)) throw badRequest(`tools: duplicate custom tool name "${tool.name}"`);
      customNames.add(tool.name);
    }
  }
  if (agentToolsets > 1) throw badRequest('tools: at most one agent_toolset_20260401');
  const named = tools.reduce(
    (count, tool) => count + (tool.type === 'custom' ? 1 : (tool.configs?.length ?? 0)),
    0,
  );
  if (named > MAX_AGENT_TOOLS)
    throw badRequest(`tools: at most ${MAX_AGENT_TOOLS} tools across all toolsets (${named} given)`);
  for (const name of names) {
    const count = referenced.get(name) ?? 0;
    if (count === 0)
      throw badRequest(`mcp_servers: server "${name}" is not referenced by any mcp_toolset in tools`);
    if (count > 1) throw badRequest(`tools: MCP server "${name}" is referenced by more than one mcp_toolset`);
  }
}

function assertUniqueConfigNames(configs: readonly { name: string }[], owner: string): void {
  const seen = new Set<string>();
  for (const config of configs) {
    if (seen.has(config.name))
      throw badRequest(`tools: duplicate config for tool "${config.name}" in ${owner}`);
    seen.add(config.name);
  }
}

export function resolveServers(
  servers: readonly McpServerParams[],
): BetaManagedAgentsMCPServerURLDefinition[] {
  return servers.map((s) => ({ name: s.name, type: 'url', url: s.url }));
}

/**
 * The resolved form responses carry: every toolset has a concrete `default_config` (enabled
 * defaults to true; agent tools default to always_allow, MCP tools to always_ask) and a
 * `configs` array whose entries are filled in from it.
 */
export function resolveTools(tools: readonly ToolParams[]): AgentTools {
  return tools.map((tool) => {
    if (tool.type === 'custom') {
      return {
        type: 'custom',
        name: tool.name,
        description: tool.description,
        input_schema: tool.input_schema,
      };
    }
    const fallbackPolicy: PermissionPolicy =
      tool.type === 'mcp_toolset' ? { type: 'always_ask' } : { type: 'always_allow' };
    const defaults = {
      enabled: tool.default_config?.enabled ?? true,
      permission_policy: tool.default_config?.permission_policy ?? fallbackPolicy,
    };
    if (tool.type === 'mcp_toolset') {
      return {
        type: 'mcp_toolset',
        mcp_server_name: tool.mcp_server_name,
        default_config: defaults,
        configs: (tool.configs ?? []).map((c) => ({
          name: c.name,
          enabled: c.enabled ?? defaults.enabled,
          permission_policy: c.permission_policy ?? defaults.permission_policy,
        })),
      };
    }
    return {
      type: 'agent_toolset_20260401',
      default_config: defaults,
      configs: (tool.configs ?? []).map((c) => resolveAgentToolConfig(c, defaults)),
    };
  });
}

function resolveAgentToolConfig(
  config: z.infer<typeof agentToolConfig>,
  defaults: { enabled: boolean; permission_policy: PermissionPolicy },
): BetaManagedAgentsAgentToolConfig {
  const common = {
    enabled: config.enabled ?? defaults.enabled,
    permission_policy: config.permission_policy ?? defaults.permission_policy,
  };
  const domains = {
    ...(config.allowed_domains ? { allowed_domains: config.allowed_domains } : {}),
    ...(config.blocked_domains ? { blocked_domains: config.blocked_domains } : {}),
  };
  switch (config.name) {
    case 'web_fetch':
      return {
        name: 'web_fetch',
        type: 'web_fetch',
        ...common,
        ...domains,
        url_sources: (config.url_sources ?? null) as never,
        max_content_tokens: config.max_content_tokens ?? null,
      };
    case 'web_search':
      return {
        name: 'web_search',
        type: 'web_search',
        ...common,
        ...domains,
        user_location: (config.user_location ?? null) as never,
      };
    default:
      return { name: config.name, type: config.name, ...common } as BetaManagedAgentsAgentToolConfig;
  }
}

/**
 * The reverse of resolveTools, so a stored (resolved) agent can be re-validated together with
 * session overrides: resolved objects are valid params.
 */
export function toolsAsParams(tools: AgentTools): ToolParams[] {
  return tools as unknown as ToolParams[];
}

export interface ToolPermission {
  enabled: boolean;
  policy: PermissionPolicy;
}

/**
 * How an agent's mcp_toolset treats one MCP tool: the tool's entry in `configs`, else the
 * toolset's `default_config`, else (no toolset) not available at all.
 */
export function mcpToolPermission(tools: AgentTools, serverName: string, toolName: string): ToolPermission {
  const toolset = tools.find((t) => t.type === 'mcp_toolset' && t.mcp_server_name === serverName);
  if (toolset?.type !== 'mcp_toolset') return { enabled: false, policy: { type: 'always_ask' } };
  const config = toolset.configs.find((c) => c.name === toolName);
  return {
    enabled: config?.enabled ?? toolset.default_config.enabled ?? true,
    policy: config?.permission_policy ?? toolset.default_config.permission_policy ?? { type: 'always_ask' },
  };
}
