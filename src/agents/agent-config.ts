import { createHash } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { AgentConfig, CatalogTool } from '../store/index.js';

/**
 * An agent's configuration (`AgentConfig`, stored in store/agents.ts) compiled into what Managed
 * Agents runs: which allowed MCP servers, and per tool off, ask or allow. A tool that is not listed
 * is off. A setting is bound to the tool's description and schema as the admin reviewed them
 * (`reviewedHash`): if the server changes either, the tool is off again until someone reviews it.
 */

/**
 * What a tool may do: off (it does not exist for the agent), ask (its owner approves each call), auto
 * (Anthropic judges each call: allowed, denied, or put to the owner like ask) or allow.
 */
export type ToolSetting = 'off' | 'ask' | 'auto' | 'allow';

/** The Managed Agents permission policy of each setting a tool can be on with. */
const POLICY = {
  ask: { type: 'always_ask' },
  auto: { type: 'auto' },
  allow: { type: 'always_allow' },
} as const;

/** Whether a setting lets a call run without its owner's click (always, or when Anthropic judges it safe). */
export function runsWithoutAsking(setting: ToolSetting): boolean {
  return setting === 'allow' || setting === 'auto';
}

type AgentCreateParams = Parameters<Anthropic['beta']['agents']['create']>[0];

/** What the Managed Agents agent is given: servers, and a deny-by-default toolset per server. */
export interface AgentPayload {
  mcp_servers: NonNullable<AgentCreateParams['mcp_servers']>;
  tools: NonNullable<AgentCreateParams['tools']>;
}

export interface ToolStatus {
  server: string;
  tool: string;
  setting: ToolSetting;
  /** Why a configured tool is off anyway: its description or schema changed since review, or it is gone. */
  heldBack?: 'changed' | 'missing';
}

/**
 * The agent payload for a configuration and the servers' current tool catalogs. Every toolset is
 * `default_config.enabled: false`, so a tool the server adds later never runs; a tool is enabled only
 * when its setting is ask or allow and the catalog still holds the tool as it was reviewed.
 */
export function compileAgent(
  config: AgentConfig,
  catalogs: ReadonlyMap<string, CatalogTool[]>,
): AgentPayload & { status: ToolStatus[] } {
  const status: ToolStatus[] = [];
  const tools: AgentPayload['tools'] = config.servers.map((server) => {
    const catalog = new Map((catalogs.get(server.url) ?? []).map((tool) => [tool.name, tool]));
    const configs = Object.entries(server.tools)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([name, choice]) => {
        const seen = catalog.get(name);
        const heldBack = !seen ? 'missing' : seen.hash !== choice.reviewedHash ? 'changed' : undefined;
        status.push({
          server: server.connectorId,
          tool: name,
          setting: heldBack ? 'off' : choice.setting,
          ...(heldBack ? { heldBack } : {}),
        });
        if (heldBack) return [];
        return [
          {
            name,
            enabled: true,
            permission_policy: POLICY[choice.setting],
          },
        ];
      });
    return {
      type: 'mcp_toolset' as const,
      mcp_server_name: server.connectorId,
      default_config: { enabled: false },
      configs,
    };
  });
  return {
    mcp_servers: config.servers.map((server) => ({
      type: 'url' as const,
      name: server.connectorId,
      url: server.url,
    })),
    tools,
    status,
  };
}

/**
 * The agent as one person may use it (agent scope ∩ user scope,
 * docs/architecture.md#agents-and-permissions): only the servers they have connected, and no tool that may
 * write unless they are among the agent's writers. The result is what `agent_with_overrides` sends; it can
 * only narrow what the agent allows, never widen it.
 */
export function narrowForUser(
  config: AgentConfig,
  catalogs: ReadonlyMap<string, CatalogTool[]>,
  user: { userId: string; connectedServers: ReadonlySet<string> },
  trustedReadOnly: (connectorId: string) => readonly string[] = () => [],
): AgentPayload & { droppedServers: string[]; droppedWriteTools: string[] } {
  const mayUseWrites = config.writers === undefined || config.writers.includes(user.userId);
  const droppedWriteTools: string[] = [];
  const servers = config.servers
    .filter((s) => user.connectedServers.has(s.connectorId))
    .map((server) => {
      const catalog = catalogs.get(server.url) ?? [];
      const tools = Object.fromEntries(
        Object.entries(server.tools).filter(([name]) => {
          const writes =
            !catalog.some((t) => t.name === name) || mayWrite(name, trustedReadOnly(server.connectorId));
          if (writes && !mayUseWrites) droppedWriteTools.push(`${server.connectorId}.${name}`);
          return !writes || mayUseWrites;
        }),
      );
      return { ...server, tools };
    });
  const { mcp_servers, tools } = compileAgent({ ...config, servers }, catalogs);
  return {
    mcp_servers,
    tools,
    droppedServers: config.servers
      .filter((s) => !user.connectedServers.has(s.connectorId))
      .map((s) => s.connectorId),
    droppedWriteTools,
  };
}

/** A stable fingerprint of what was published, to tell whether drift changed it. */
export function payloadHash(payload: AgentPayload): string {
  return createHash('sha256')
    .update(JSON.stringify({ s: payload.mcp_servers, t: payload.tools }))
    .digest('hex');
}

/**
 * A tool may write unless the connector catalog vouches for it as read-only. The server's own readOnlyHint
 * is shown to admins but never spares a confirmation (docs/architecture.md#agents-and-permissions).
 */
export function mayWrite(toolName: string, trustedReadOnly: readonly string[] = []): boolean {
  return !trustedReadOnly.includes(toolName);
}

/** What changed between two configurations, one line per change, for the audit record. */
export function diffConfigs(before: AgentConfig | undefined, after: AgentConfig): string[] {
  const changes: string[] = [];
  const field = (name: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push(`${name}: ${show(a)} → ${show(b)}`);
  };
  field('description', before?.description, after.description);
  field('model', before?.model, after.model);
  field('system', before ? digest(before.system) : undefined, digest(after.system));
  field('access', before?.access, after.access);
  field('spendCeilingUsd', before?.spendCeilingUsd, after.spendCeilingUsd);
  field('approverGroup', before?.approverGroup, after.approverGroup);
  field('memory', before?.memory, after.memory);
  field(
    'skills',
    before?.skills?.map((s) => `${s.name}@${s.version}`),
    after.skills?.map((s) => `${s.name}@${s.version}`),
  );
  const servers = new Set([...(before?.servers ?? []), ...after.servers].map((s) => s.connectorId));
  for (const id of [...servers].sort()) {
    const a = before?.servers.find((s) => s.connectorId === id);
    const b = after.servers.find((s) => s.connectorId === id);
    if (!a) changes.push(`servers: +${id}`);
    if (!b) changes.push(`servers: -${id}`);
    if (a && b && a.url !== b.url) changes.push(`${id}.url: ${a.url} → ${b.url}`);
    const tools = new Set([...Object.keys(a?.tools ?? {}), ...Object.keys(b?.tools ?? {})]);
    for (const tool of [...tools].sort()) {
      const from = a?.tools[tool]?.setting ?? 'off';
      const to = b?.tools[tool]?.setting ?? 'off';
      if (from !== to) changes.push(`${id}.${tool}: ${from} → ${to}`);
      else if (
        a?.tools[tool] &&
        b?.tools[tool] &&
        a.tools[tool].reviewedHash !== b.tools[tool].reviewedHash
      ) {
        changes.push(`${id}.${tool}: ${to}, re-reviewed after a change`);
      }
    }
  }
  return changes;
}

const show = (value: unknown) =>
  value === undefined ? '(none)' : typeof value === 'string' ? value : JSON.stringify(value);
const digest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
