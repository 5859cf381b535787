import type {
  BetaManagedAgentsSession,
  BetaManagedAgentsSessionAgent,
} from '@anthropic-ai/sdk/resources/beta/sessions/sessions';
import { z } from 'zod';
import {
  checkServersAndTools,
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
import { badRequest } from './errors.js';
import { SessionEventLog } from './event-log.js';
import { userMessageSchema } from './events.js';
import { memoryStoreResourceSchema, sessionMemoryResources } from './memory-stores.js';
import { LIST_LIMITS, paginate } from './pagination.js';
import { timeFilter } from './query.js';
import type { Router } from './router.js';
import { listCostCents, type RunnerDeps, SessionRunner } from './runtime.js';
import type { EmulatorState, SessionRecord } from './store.js';
import { applyMetadataPatch, metadataPatchSchema, metadataSchema, parseBody } from './validation.js';

export const MAX_INITIAL_EVENTS = 50;
const SESSION_STATUSES = ['rescheduling', 'running', 'idle', 'terminated'] as const;

const agentId = z.string().min(1);
const agentReference = z.union([
  agentId,
  z.strictObject({ type: z.literal('agent'), id: agentId, version: z.number().int().positive().optional() }),
  z.strictObject({
    type: z.literal('agent_with_overrides'),
    id: agentId,
    version: z.number().int().positive().optional(),
    model: modelSchema.optional(),
    system: z.string().max(100_000).nullish(),
    tools: z.array(toolSchema).max(256).optional(),
    mcp_servers: z.array(mcpServerSchema).optional(),
    skills: z.array(skillSchema).max(20).optional(),
  }),
]);

const budgetSchema = z.strictObject({
  type: z.literal('limit'),
  max_list_cost: z.strictObject({
    amount: z.string().regex(/^(0|[1-9][0-9]*)$/, 'Input should be an integer string of minor units'),
    currency: z.literal('USD'),
  }),
});

const sessionCreateSchema = z.strictObject({
  agent: agentReference,
  environment_id: z.string().min(1),
  vault_ids: z.array(z.string().min(1)).max(20).optional(),
  metadata: metadataSchema.optional(),
  title: z.string().max(500).nullish(),
  initial_events: z
    .array(
      z.discriminatedUnion('type', [
        userMessageSchema,
        z.looseObject({ type: z.literal('user.define_outcome') }),
      ]),
    )
    .max(MAX_INITIAL_EVENTS)
    .optional(),
  resources: z.array(memoryStoreResourceSchema).max(8).optional(),
  budget: budgetSchema.optional(),
});

const sessionUpdateSchema = z.strictObject({
  title: z.string().max(500).nullish(),
  metadata: metadataPatchSchema.optional(),
  agent: z
    .strictObject({
      tools: z.array(toolSchema).max(256).optional(),
      mcp_servers: z.array(mcpServerSchema).optional(),
    })
    .optional(),
  budget: budgetSchema.nullish(),
  vault_ids: z.array(z.string()).optional(),
});

/** The agent a session runs: a snapshot of one version, with any session-local overrides. */
function resolveSessionAgent(
  state: EmulatorState,
  reference: z.infer<typeof agentReference>,
): BetaManagedAgentsSessionAgent {
  const id = typeof reference === 'string' ? reference : reference.id;
  const record = state.agent(id);
  const agent = state.agentVersion(record, typeof reference === 'string' ? undefined : reference.version);
  if (agent.archived_at) throw badRequest(`Agent ${id} is archived and cannot be used by new sessions`);
  const snapshot: BetaManagedAgentsSessionAgent = {
    id: agent.id,
    type: 'agent',
    name: agent.name,
    description: agent.description,
    system: agent.system,
    model: agent.model,
    mcp_servers: agent.mcp_servers,
    tools: agent.tools,
    skills: agent.skills,
    multiagent: agent.multiagent as BetaManagedAgentsSessionAgent['multiagent'],
    execution_identity: agent.execution_identity,
    version: agent.version,
  };
  if (typeof reference === 'string' || reference.type === 'agent') return structuredClone(snapshot);
  // Overrides replace whole fields, and must still be consistent with each other.
  const servers = reference.mcp_servers ?? snapshot.mcp_servers;
  const tools = reference.tools ?? toolsAsParams(snapshot.tools);
  checkServersAndTools(servers, tools);
  return structuredClone({
    ...snapshot,
    model: reference.model === undefined ? snapshot.model : resolveModel(reference.model),
    system: reference.system === undefined ? snapshot.system : (reference.system ?? null),
    mcp_servers: resolveServers(servers),
    tools: resolveTools(tools),
    skills: reference.skills === undefined ? snapshot.skills : resolveSkills(reference.skills),
  });
}

function checkVaults(state: EmulatorState, vaultIds: readonly string[]): void {
  if (new Set(vaultIds).size !== vaultIds.length) throw badRequest('vault_ids: must not contain duplicates');
  for (const id of vaultIds) {
    const vault = state.vault(id);
    if (vault.value.archived_at)
      throw badRequest(`Vault ${id} is archived and cannot be used by new sessions`);
  }
}

export function sessionView(state: EmulatorState, record: SessionRecord): BetaManagedAgentsSession {
  const value = structuredClone(record.value);
  value.stats.duration_seconds = Math.max(0, (state.clock.now() - Date.parse(value.created_at)) / 1000);
  return value;
}

export function registerSessionRoutes(router: Router, state: EmulatorState, deps: RunnerDeps): void {
  router.on('POST', '/v1/sessions', ({ body }) => {
    const input = parseBody(sessionCreateSchema, body);
    const agent = resolveSessionAgent(state, input.agent);
    const environment = state.environment(input.environment_id);
    if (environment.value.archived_at) {
      throw badRequest(`Environment ${environment.value.id} is archived`, 'environment_archived');
    }
    const vaultIds = input.vault_ids ?? [];
    checkVaults(state, vaultIds);
    const messages = (input.initial_events ?? []).map((event) => {
      if (event.type !== 'user.message')
        throw badRequest('initial_events: user.define_outcome is not supported');
      return event;
    });
    const resources = sessionMemoryResources(state, input.resources ?? []);
    const now = state.now();
    const value: BetaManagedAgentsSession = {
      id: state.ids.next('sesn'),
      type: 'session',
      status: 'idle',
      agent,
      environment_id: environment.value.id,
      vault_ids: vaultIds,
      metadata: input.metadata ?? {},
      title: input.title ?? null,
      resources,
      usage: {
        input_tokens: 0,
        output_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
        active_seconds: 0,
      },
      stats: { active_seconds: 0, duration_seconds: 0 },
      budget: input.budget ?? null,
      outcome_evaluations: [],
      deployment_id: null,
      archived_at: null,
      created_at: now,
      updated_at: now,
    };
    const record = {
      seq: state.nextSeq(),
      value,
      log: new SessionEventLog(state, value.id),
    } as SessionRecord;
    record.runner = new SessionRunner(record, deps);
    state.sessions.set(value.id, record);
    for (const message of messages) {
      const echo = record.log.append({ type: 'user.message', content: message.content }, { queued: true });
      record.runner.enqueueMessage(echo);
    }
    return sessionView(state, record);
  });

  router.on('GET', '/v1/sessions/:session_id', ({ params }) =>
    sessionView(state, state.session(params.session_id ?? '')),
  );

  router.on('POST', '/v1/sessions/:session_id', ({ params, body }) => {
    const record = state.writableSession(params.session_id ?? '');
    const input = parseBody(sessionUpdateSchema, body);
    if (input.vault_ids !== undefined) {
      throw badRequest('vault_ids: Not yet supported; requests setting this field are rejected');
    }
    const value = record.value;
    const changed: Record<string, unknown> = {};
    if (input.agent) {
      if (value.status === 'running')
        throw badRequest('agent: cannot update the agent while the session is running');
      const servers = input.agent.mcp_servers ?? value.agent.mcp_servers;
      const tools = input.agent.tools ?? toolsAsParams(value.agent.tools);
      checkServersAndTools(servers, tools);
      value.agent = { ...value.agent, mcp_servers: resolveServers(servers), tools: resolveTools(tools) };
      changed.agent = structuredClone(value.agent);
    }
    if (input.title !== undefined) {
      value.title = input.title ?? null;
      changed.title = value.title;
    }
    if (input.metadata !== undefined) {
      value.metadata = applyMetadataPatch(value.metadata, input.metadata);
      changed.metadata = { ...value.metadata };
    }
    if (input.budget) {
      // As the API documents: a budget is replaced, never added to a session without one (nor re-added
      // once removed), and a ceiling at or under what the session has already spent is refused.
      if (!value.budget)
        throw badRequest(
          'budget: a budget cannot be added to a session created without one (budget_create_only)',
          'budget_create_only',
        );
      if (Number(input.budget.max_list_cost.amount) <= listCostCents(record))
        throw badRequest(
          "budget: max_list_cost must exceed the session's consumed list cost (budget_not_raised)",
          'budget_not_raised',
        );
    }
    if (input.budget !== undefined) {
      value.budget = input.budget ?? null;
      changed.budget = value.budget;
    }
    value.updated_at = state.now();
    if (Object.keys(changed).length > 0) record.log.append({ type: 'session.updated', ...changed });
    return sessionView(state, record);
  });

  router.on('GET', '/v1/sessions', ({ query }) => {
    const agentFilter = query.string('agent_id');
    const versionFilter = query.integer('agent_version', 1, Number.MAX_SAFE_INTEGER);
    const statuses = query.list('statuses');
    for (const status of statuses) {
      if (!(SESSION_STATUSES as readonly string[]).includes(status)) {
        throw badRequest(`statuses: Input should be one of ${SESSION_STATUSES.join(', ')}`);
      }
    }
    const includeArchived = query.boolean('include_archived') ?? false;
    const created = timeFilter(query, 'created_at');
    // The emulator has no deployments: that filter matches nothing.
    const unmatchable = query.string('deployment_id') !== undefined;
    const memoryStoreFilter = query.string('memory_store_id');
    const records = [...state.sessions.values()].filter(({ value }) => {
      return (
        !unmatchable &&
        (includeArchived || !value.archived_at) &&
        (agentFilter === undefined || value.agent.id === agentFilter) &&
        (versionFilter === undefined || value.agent.version === versionFilter) &&
        (statuses.length === 0 || statuses.includes(value.status)) &&
        created(value.created_at) &&
        (memoryStoreFilter === undefined ||
          value.resources.some((r) => r.type === 'memory_store' && r.memory_store_id === memoryStoreFilter))
      );
    });
    const page = paginate(records, query, {
      order: query.order('desc'),
      bidirectional: true,
      ...LIST_LIMITS,
    });
    return { ...page, data: page.data.map((r) => sessionView(state, r)) };
  });

  router.on('DELETE', '/v1/sessions/:session_id', ({ params }) => {
    const record = state.session(params.session_id ?? '');
    if (record.value.status === 'running') throw badRequest('Cannot delete a session while it is running');
    record.runner.stop();
    // Streams learn of the deletion, then end.
    record.log.broadcastOnly({ type: 'session.deleted' });
    record.log.closeSubscribers();
    state.sessions.delete(record.value.id);
    return { id: record.value.id, type: 'session_deleted' };
  });

  router.on('POST', '/v1/sessions/:session_id/archive', ({ params }) => {
    const record = state.session(params.session_id ?? '');
    if (record.value.status === 'running') throw badRequest('Cannot archive a session while it is running');
    if (!record.value.archived_at) {
      record.runner.stop();
      const now = state.now();
      record.value.archived_at = now;
      record.value.updated_at = now;
    }
    return sessionView(state, record);
  });
}
