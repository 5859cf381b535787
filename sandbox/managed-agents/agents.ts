import { isDeepStrictEqual } from 'node:util';
import type { BetaManagedAgentsAgent } from '@anthropic-ai/sdk/resources/beta/agents/agents';
import { z } from 'zod';
import {
  checkServersAndTools,
  executionIdentitySchema,
  mcpServerSchema,
  modelSchema,
  resolveModel,
  resolveServers,
  resolveSkills,
  resolveTools,
  skillSchema,
  toolSchema,
  toolsAsParams,
} from './agent-config.js';
import { badRequest, conflict } from './errors.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import { timeFilter } from './query.js';
import type { Router } from './router.js';
import type { AgentRecord, EmulatorState } from './store.js';
import { applyMetadataPatch, metadataPatchSchema, metadataSchema, parseBody } from './validation.js';

const name = z.string().min(1).max(256);
const description = z.string().max(2048);
const system = z.string().max(100_000);
// Multi-agent configuration is stored and echoed, not interpreted.
const multiagent = z.looseObject({ type: z.string() });

const agentCreateSchema = z.strictObject({
  name,
  model: modelSchema,
  description: description.nullish(),
  system: system.nullish(),
  mcp_servers: z.array(mcpServerSchema).optional(),
  tools: z.array(toolSchema).max(256).optional(),
  skills: z.array(skillSchema).max(20).optional(),
  metadata: metadataSchema.optional(),
  multiagent: multiagent.nullish(),
  execution_identity: executionIdentitySchema.nullish(),
});

const agentUpdateSchema = z.strictObject({
  version: z.number().int().positive().optional(),
  name: name.optional(),
  model: modelSchema.optional(),
  description: description.nullish(),
  system: system.nullish(),
  mcp_servers: z.array(mcpServerSchema).nullish(),
  tools: z.array(toolSchema).max(256).nullish(),
  skills: z.array(skillSchema).max(20).nullish(),
  metadata: metadataPatchSchema.optional(),
  multiagent: multiagent.nullish(),
  execution_identity: executionIdentitySchema.nullish(),
});

/** Fields that, when changed, publish a new version (everything but bookkeeping). */
function versionedContent(agent: BetaManagedAgentsAgent): unknown {
  const { version: _v, updated_at: _u, created_at: _c, archived_at: _a, ...content } = agent;
  return content;
}

/**
 * An agent's skills must exist, each once: a custom one of the organisation's (at a version it has,
 * or its latest), or one of Anthropic's (at its latest).
 */
function checkSkills(
  state: EmulatorState,
  skills: ReadonlyArray<{
    type: 'anthropic' | 'custom';
    skill_id: string;
    version?: string | null | undefined;
  }>,
): void {
  const seen = new Set<string>();
  for (const skill of skills) {
    if (seen.has(skill.skill_id)) throw badRequest(`skills: ${skill.skill_id} is listed more than once`);
    seen.add(skill.skill_id);
    const found = state.skills.get(skill.skill_id);
    if (!found || found.value.source.type !== skill.type)
      throw badRequest(`skills: no ${skill.type} skill ${skill.skill_id}`);
    const version = skill.version;
    if (!version || version === 'latest' || version === found.value.latest_version_id) continue;
    if (!found.versions.some((v) => v.id === version))
      throw badRequest(`skills: skill ${skill.skill_id} has no version ${version}`);
  }
}

export function registerAgentRoutes(router: Router, state: EmulatorState): void {
  router.on('POST', '/v1/agents', ({ body }) => {
    const input = parseBody(agentCreateSchema, body);
    const servers = input.mcp_servers ?? [];
    const tools = input.tools ?? [];
    checkServersAndTools(servers, tools);
    checkSkills(state, input.skills ?? []);
    const now = state.now();
    const agent: BetaManagedAgentsAgent = {
      id: state.ids.next('agent'),
      type: 'agent',
      name: input.name,
      description: input.description ?? null,
      system: input.system ?? null,
      model: resolveModel(input.model),
      mcp_servers: resolveServers(servers),
      tools: resolveTools(tools),
      skills: resolveSkills(input.skills),
      metadata: input.metadata ?? {},
      multiagent: (input.multiagent ?? null) as BetaManagedAgentsAgent['multiagent'],
      execution_identity: input.execution_identity ?? { type: 'service_account' },
      version: 1,
      archived_at: null,
      created_at: now,
      updated_at: now,
    };
    state.agents.set(agent.id, { seq: state.nextSeq(), id: agent.id, versions: [agent] });
    return structuredClone(agent);
  });

  router.on('GET', '/v1/agents/:agent_id', ({ params, query }) => {
    const record = state.agent(params.agent_id ?? '');
    const version = query.integer('version', 1, Number.MAX_SAFE_INTEGER);
    return structuredClone(state.agentVersion(record, version));
  });

  router.on('POST', '/v1/agents/:agent_id', ({ params, body }) => {
    const record = state.agent(params.agent_id ?? '');
    const input = parseBody(agentUpdateSchema, body);
    const current = state.latestAgent(record);
    if (current.archived_at) throw badRequest(`Agent ${record.id} is archived and read-only`);
    if (input.version !== undefined && input.version !== current.version) {
      throw conflict(`Agent ${record.id} is at version ${current.version}, not ${input.version}`);
    }
    const servers = input.mcp_servers === undefined ? current.mcp_servers : (input.mcp_servers ?? []);
    const tools = input.tools === undefined ? toolsAsParams(current.tools) : (input.tools ?? []);
    checkServersAndTools(servers, tools);
    checkSkills(state, input.skills ?? []);
    const candidate: BetaManagedAgentsAgent = {
      ...current,
      name: input.name ?? current.name,
      model: input.model === undefined ? current.model : resolveModel(input.model),
      description: input.description === undefined ? current.description : input.description || null,
      system: input.system === undefined ? current.system : input.system || null,
      mcp_servers: resolveServers(servers),
      tools: resolveTools(tools),
      skills: input.skills === undefined ? current.skills : resolveSkills(input.skills),
      metadata: applyMetadataPatch(current.metadata, input.metadata),
      multiagent:
        input.multiagent === undefined
          ? current.multiagent
          : ((input.multiagent ?? null) as BetaManagedAgentsAgent['multiagent']),
      execution_identity:
        input.execution_identity === undefined
          ? current.execution_identity
          : (input.execution_identity ?? { type: 'service_account' }),
    };
    // A no-op update publishes nothing and keeps the version.
    if (isDeepStrictEqual(versionedContent(candidate), versionedContent(current)))
      return structuredClone(current);
    const next = { ...candidate, version: current.version + 1, updated_at: state.now() };
    record.versions.push(next);
    return structuredClone(next);
  });

  router.on('GET', '/v1/agents', ({ query }) => {
    const includeArchived = query.boolean('include_archived') ?? false;
    const created = timeFilter(query, 'created_at');
    const records = [...state.agents.values()].filter((r) => {
      const latest = state.latestAgent(r);
      return (includeArchived || !latest.archived_at) && created(latest.created_at);
    });
    const page = paginate(records, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map((r) => structuredClone(state.latestAgent(r))) };
  });

  // Archive is permanent; there is no unarchive and no delete.
  router.on('POST', '/v1/agents/:agent_id/archive', ({ params }) => {
    const record = state.agent(params.agent_id ?? '');
    const latest = state.latestAgent(record);
    if (!latest.archived_at) {
      const now = state.now();
      record.versions = record.versions.map((v) => ({ ...v, archived_at: now }));
    }
    return structuredClone(state.latestAgent(record));
  });

  router.on('GET', '/v1/agents/:agent_id/versions', ({ params, query }) => {
    const record: AgentRecord = state.agent(params.agent_id ?? '');
    // Versions page newest first; the version number is their sequence.
    const versions = record.versions.map((v) => ({ seq: v.version, value: v }));
    const page = paginate(versions, query, { order: 'desc', ...LIST_LIMITS });
    return { ...page, data: page.data.map((v) => structuredClone(v.value)) };
  });
}
