import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Connector } from '../connections/catalog.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import {
  type AgentConfig,
  agentConfigSchema,
  agentNameSchema,
  type CatalogTool,
  MODELS,
  type StoredAgent,
} from '../store/index.js';
import type { AdminAccess } from './admin-access.js';
import { mayWrite, runsWithoutAsking, type ToolSetting } from './agent-config.js';
import { AgentEditConflict, type AgentService } from './agent-service.js';
import type { SkillChoice } from './skills.js';

/** Slack's limit on `private_metadata`, which carries the basics to the tools step. */
const METADATA_LIMIT = 3000;

const basicsSchema = agentConfigSchema
  .omit({ servers: true })
  .extend({ serverIds: z.array(z.string()).max(20) });

/** What the basics step carries to the tools step, through `private_metadata`. */
export type Basics = z.infer<typeof basicsSchema>;

const setupMetadataSchema = z.discriminatedUnion('step', [
  z.object({
    step: z.literal('basics'),
    version: z.number().int().positive().optional(),
    name: agentNameSchema.optional(),
  }),
  z.object({
    step: z.literal('tools'),
    version: z.number().int().positive().optional(),
    basics: basicsSchema,
  }),
]);

/**
 * The setup modal's `private_metadata`: which step, the configuration version being edited (absent
 * for a new agent), the name being edited, and after step 1 the basics. It comes back through the
 * client, so it is parsed like any input.
 */
export type SetupMetadata = z.infer<typeof setupMetadataSchema>;

/** The basics step's inputs, as the person left them. */
export interface BasicsForm {
  name: string;
  description: string;
  model: string | undefined;
  system: string;
  serverIds: string[];
  access: string | undefined;
  users: string[];
  channels: string[];
  /** User group IDs as typed: separated by commas or spaces. */
  groups: string;
  writers: string[];
  ceiling: string;
  approvers: string;
  /** `off`, `read_write` or `read_only`; absent is off. */
  memory: string | undefined;
  /** The skills chosen, as `type:skillId` option values. */
  skills: string[];
}
export type BasicsField = keyof BasicsForm | 'servers';

/** The tools step's inputs: the option chosen for each tool, and the write confirmations ticked. */
export interface ToolChoices {
  settingFor(connectorId: string, toolName: string): string | undefined;
  confirmations: string[];
}

export interface ToolsStepServer {
  connector: Connector;
  tools: CatalogTool[];
}

/** What the tools step shows: each chosen server's tools with their settings, and why it is shown again. */
export interface ToolsStep {
  metadata: Extract<SetupMetadata, { step: 'tools' }>;
  servers: ToolsStepServer[];
  settings: Map<string, ToolSetting>;
  heldBack?: Set<string>;
  notice?: string;
  confirmWrites?: string[];
}

export type OpenSetupOutcome =
  | { kind: 'not_admin' }
  | { kind: 'no_such_agent'; name: string }
  | { kind: 'basics'; servers: Connector[]; skills: SkillChoice[]; agent?: StoredAgent };

export type BasicsOutcome =
  | { kind: 'not_admin' }
  | { kind: 'out_of_date' }
  | { kind: 'invalid'; errors: Partial<Record<BasicsField, string>> }
  | { kind: 'tools'; step: ToolsStep };

export type ToolsOutcome =
  | { kind: 'not_admin' }
  | { kind: 'out_of_date' }
  | { kind: 'invalid' }
  /** Shown again: a tool changed while it was reviewed, or writes without asking need confirming. */
  | { kind: 'again'; step: ToolsStep }
  | { kind: 'ready'; config: AgentConfig; editedVersion?: number };

export type SaveOutcome =
  | { kind: 'saved'; agent: StoredAgent }
  | { kind: 'conflict'; name: string }
  | { kind: 'failed'; name: string; reference: string };

/** A skill's option value in the setup modal: its kind and id. */
export const skillOptionValue = (skill: Pick<SkillChoice, 'type' | 'skillId'>) =>
  `${skill.type}:${skill.skillId}`;

/** The key of a tool's setting: its connector and name. */
export const toolKey = (connectorId: string, tool: string) => `${connectorId}:${tool}`;

/**
 * A setting's option value names the tool version the admin was shown (`allow:<hash>`), so a choice
 * made on a description that has since changed is not applied to the new one.
 */
export function settingValue(setting: ToolSetting, toolHash: string): string {
  return setting === 'off' ? 'off' : `${setting}:${toolHash.slice(0, 16)}`;
}

/** The setting an option value chose, if it was made on `toolHash`; 'stale' if on another version. */
function readSetting(value: string | undefined, toolHash: string): ToolSetting | 'stale' | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return 'off';
  const [setting, hash] = value.split(':');
  if (setting !== 'ask' && setting !== 'auto' && setting !== 'allow') return undefined;
  return hash === toolHash.slice(0, 16) ? setting : 'stale';
}

/** The write confirmation's value names the exact tools it covers. */
export function confirmationValue(tools: string[]): string {
  return `confirm:${createHash('sha256')
    .update(JSON.stringify([...tools].sort()))
    .digest('base64url')
    .slice(0, 22)}`;
}

/** The setup metadata a form carries, or undefined when it is not what Deputy wrote. */
export function parseSetupMetadata(text: string | undefined): SetupMetadata | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
  const parsed = setupMetadataSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

const userGroupId = /^S[A-Z0-9_]{2,}$/;

/**
 * `/agent setup` in two steps (docs/architecture.md#agents-and-permissions): the basics, then
 * each chosen server's tools off, ask or allow. Only admins; a choice counts only for the tool
 * version it was made on; letting a tool that may write run without asking takes a confirmation
 * that names exactly those tools; a save over someone else's newer save is refused.
 */
export class AgentSetup {
  constructor(
    private readonly deps: {
      agents: AgentService;
      connections: ConnectionsService;
      access: AdminAccess;
      logger: Logger;
    },
  ) {}

  /** Step 1 for a new agent, or for editing the named one. */
  async open(
    admin: Principal,
    agentName: string | undefined,
    correlationId: string,
  ): Promise<OpenSetupOutcome> {
    if (!(await this.deps.access.authorize(admin, '/agent setup', correlationId)))
      return { kind: 'not_admin' };
    const [servers, skills] = await Promise.all([
      this.deps.connections.catalog(),
      this.deps.agents.skillChoices(),
    ]);
    if (!agentName) return { kind: 'basics', servers, skills };
    const agent = await this.deps.agents.get(agentName.toLowerCase());
    return agent ? { kind: 'basics', servers, skills, agent } : { kind: 'no_such_agent', name: agentName };
  }

  /** Step 1 submitted: the basics checked, then the tools step. */
  async submitBasics(
    admin: Principal,
    metadataText: string | undefined,
    form: BasicsForm,
    correlationId: string,
  ): Promise<BasicsOutcome> {
    if (!(await this.deps.access.authorize(admin, '/agent setup', correlationId)))
      return { kind: 'not_admin' };
    const metadata = parseSetupMetadata(metadataText);
    if (metadata?.step !== 'basics') return { kind: 'out_of_date' };
    const editing = metadata.name;
    const name = editing ?? form.name.trim().toLowerCase();
    const errors: Partial<Record<BasicsField, string>> = {};
    if (!agentNameSchema.safeParse(name).success)
      errors.name = 'Use 1–40 lower-case letters, digits and dashes.';
    else if (!editing && (await this.deps.agents.get(name)))
      errors.name = `An agent named ${name} exists: use /agent setup ${name} to edit it.`;
    const groups = form.groups
      .split(/[\s,]+/)
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
    if (!groups.every((g) => userGroupId.test(g)))
      errors.groups = 'User group IDs start with S, e.g. S0123ABC.';
    const approvers = form.approvers.trim();
    if (approvers && !userGroupId.test(approvers))
      errors.approvers = 'A user group ID starts with S, e.g. S0123ABC.';
    const ceilingText = form.ceiling.trim();
    const ceiling = ceilingText ? Number(ceilingText) : undefined;
    if (ceiling !== undefined && !(ceiling > 0 && ceiling <= 10_000))
      errors.ceiling = 'Between 0.01 and 10,000.';
    // A skill is given at the version offered now (a custom one's synced version): pinned.
    // Read before Slack's answer, so only what the choice needs: Anthropic's list only if one is chosen.
    const offered =
      form.skills.length > 0
        ? await this.deps.agents.skillChoices({
            anthropic: form.skills.some((v) => v.startsWith('anthropic:')),
          })
        : [];
    const skills = form.skills.map((value) => offered.find((s) => skillOptionValue(s) === value));
    if (skills.some((s) => s === undefined))
      errors.skills = 'A chosen skill is no longer offered; choose again.';
    if (skills.length > 20) errors.skills = 'An agent can have at most 20 skills.';
    const memory = form.memory === 'read_write' || form.memory === 'read_only' ? form.memory : undefined;
    if (form.memory !== undefined && form.memory !== 'off' && !memory)
      errors.memory = 'Choose how it remembers.';
    const model = MODELS.find((m) => m === form.model);
    if (!model) errors.model = 'Choose a model.';
    const catalog = await this.deps.connections.catalog();
    if (!form.serverIds.every((id) => catalog.some((c) => c.id === id)))
      errors.servers = 'Only servers on the allow list.';
    if (Object.keys(errors).length > 0 || !model) return { kind: 'invalid', errors };

    const basics = basicsSchema.safeParse({
      name,
      description: form.description.trim(),
      model,
      system: form.system.trim(),
      serverIds: form.serverIds,
      access:
        form.access === 'listed'
          ? { kind: 'listed', users: form.users, channels: form.channels, userGroups: groups }
          : { kind: 'everyone' },
      ...(form.writers.length > 0 ? { writers: form.writers } : {}),
      ...(ceiling !== undefined ? { spendCeilingUsd: ceiling } : {}),
      ...(approvers ? { approverGroup: approvers } : {}),
      ...(memory ? { memory } : {}),
      ...(skills.length > 0 ? { skills: skills.filter((s): s is SkillChoice => s !== undefined) } : {}),
    } satisfies Basics);
    if (!basics.success)
      return { kind: 'invalid', errors: { users: 'Those people or channels are not valid.' } };
    const next: ToolsStep['metadata'] = {
      step: 'tools',
      ...(metadata.version ? { version: metadata.version } : {}),
      basics: basics.data,
    };
    if (JSON.stringify(next).length > METADATA_LIMIT)
      return {
        kind: 'invalid',
        errors: { system: 'Too long to carry to the next step; shorten the prompt.' },
      };
    const existing = editing ? await this.deps.agents.get(editing) : undefined;
    const servers = await this.toolsStepServers(form.serverIds);
    return {
      kind: 'tools',
      step: {
        metadata: next,
        servers,
        settings: reviewedSettings(existing?.config, servers),
        heldBack: heldBackTools(existing?.config, servers),
      },
    };
  }

  /** Step 2 submitted: per-tool settings, a second confirmation for writes without asking, then ready to save. */
  async submitTools(
    admin: Principal,
    metadataText: string | undefined,
    choices: ToolChoices,
    correlationId: string,
  ): Promise<ToolsOutcome> {
    if (!(await this.deps.access.authorize(admin, '/agent setup', correlationId)))
      return { kind: 'not_admin' };
    const metadata = parseSetupMetadata(metadataText);
    if (metadata?.step !== 'tools') return { kind: 'out_of_date' };
    const { basics, version } = metadata;
    const servers = await this.toolsStepServers(basics.serverIds);
    // Only tools the catalog holds count (a choice naming anything else is ignored), and only a
    // choice made on the tool's current description and schema.
    const settings = new Map<string, ToolSetting>();
    const stale: string[] = [];
    for (const { connector, tools } of servers) {
      for (const tool of tools) {
        const chosen = readSetting(choices.settingFor(connector.id, tool.name), tool.hash);
        if (chosen === 'stale') stale.push(tool.name);
        else if (chosen !== undefined && chosen !== 'off')
          settings.set(toolKey(connector.id, tool.name), chosen);
      }
    }
    if (stale.length > 0) {
      const notice = `These tools changed while you were reviewing them, so they are off again: ${stale.join(', ')}. Look again, then save.`;
      return { kind: 'again', step: { metadata, servers, settings, notice } };
    }
    const writes = servers.flatMap(({ connector, tools }) =>
      tools
        .filter(
          (t) =>
            runsWithoutAsking(settings.get(toolKey(connector.id, t.name)) ?? 'off') &&
            mayWrite(t.name, connector.readOnlyTools),
        )
        .map((t) => t.name),
    );
    // The confirmation counts only for exactly the tools it was shown for.
    if (writes.length > 0 && !choices.confirmations.includes(confirmationValue(writes)))
      return { kind: 'again', step: { metadata, servers, settings, confirmWrites: writes } };
    const { serverIds: _ids, ...rest } = basics;
    const config = agentConfigSchema.safeParse({
      ...rest,
      servers: servers.map(({ connector, tools }) => ({
        connectorId: connector.id,
        url: connector.mcpServerUrl,
        tools: Object.fromEntries(
          tools.flatMap((tool) => {
            const setting = settings.get(toolKey(connector.id, tool.name));
            return setting !== undefined && setting !== 'off'
              ? [[tool.name, { setting, reviewedHash: tool.hash }]]
              : [];
          }),
        ),
      })),
    } satisfies AgentConfig);
    if (!config.success) return { kind: 'invalid' };
    return { kind: 'ready', config: config.data, ...(version ? { editedVersion: version } : {}) };
  }

  /** Publishes what step 2 made ready (after Slack's answer, which cannot wait for it). */
  async save(
    admin: Principal,
    ready: Extract<ToolsOutcome, { kind: 'ready' }>,
    correlationId: string,
  ): Promise<SaveOutcome> {
    try {
      const agent = await this.deps.agents.save(admin, ready.config, ready.editedVersion, correlationId);
      // People whose connections were granted read access alone are asked to reconnect if this
      // agent now writes with them (the save stands whether or not they can be told).
      for (const server of ready.config.servers) {
        await this.deps.connections
          .askToWiden(server.connectorId, correlationId)
          .catch((error: unknown) =>
            this.deps.logger.warn('asking to widen access failed', { error: String(error), correlationId }),
          );
      }
      return { kind: 'saved', agent };
    } catch (error) {
      if (error instanceof AgentEditConflict) return { kind: 'conflict', name: ready.config.name };
      this.deps.logger.error('agent save failed', { error: String(error), correlationId });
      return { kind: 'failed', name: ready.config.name, reference: correlationId };
    }
  }

  private async toolsStepServers(serverIds: string[]): Promise<ToolsStepServer[]> {
    const chosen = (await this.deps.connections.catalog()).filter((c) => serverIds.includes(c.id));
    const catalogs = await this.deps.agents.catalogs({
      servers: chosen.map((c) => ({ url: c.mcpServerUrl })),
    });
    return chosen.map((connector) => ({ connector, tools: catalogs.get(connector.mcpServerUrl) ?? [] }));
  }
}

/** Tools this agent had on whose description or schema changed since review. */
function heldBackTools(config: AgentConfig | undefined, servers: ToolsStepServer[]): Set<string> {
  const held = new Set<string>();
  for (const server of config?.servers ?? []) {
    const current = servers.find((s) => s.connector.id === server.connectorId)?.tools ?? [];
    for (const [tool, choice] of Object.entries(server.tools)) {
      const seen = current.find((t) => t.name === tool);
      if (seen && seen.hash !== choice.reviewedHash) held.add(toolKey(server.connectorId, tool));
    }
  }
  return held;
}

/** Settings carried over from the saved configuration, only for tools still as they were reviewed. */
function reviewedSettings(
  config: AgentConfig | undefined,
  servers: ToolsStepServer[],
): Map<string, ToolSetting> {
  const settings = new Map<string, ToolSetting>();
  for (const server of config?.servers ?? []) {
    const current = servers.find((s) => s.connector.id === server.connectorId)?.tools ?? [];
    for (const [tool, choice] of Object.entries(server.tools)) {
      if (current.some((t) => t.name === tool && t.hash === choice.reviewedHash))
        settings.set(toolKey(server.connectorId, tool), choice.setting);
    }
  }
  return settings;
}
