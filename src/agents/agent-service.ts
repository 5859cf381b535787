import type Anthropic from '@anthropic-ai/sdk';
import type { AgentUpdateParams } from '@anthropic-ai/sdk/resources/beta/agents/agents';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { AdminDirectory } from '../identity/admins.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import { exactlyOnce } from '../outcome.js';
import type { SlackDirectory } from '../slack/directory.js';
import type { AgentConfig, CatalogTool, RecordedListing, Store, StoredAgent } from '../store/index.js';
import { compileAgent, diffConfigs, mayWrite, payloadHash, type ToolStatus } from './agent-config.js';
import type { AgentNotices } from './notices.js';
import { SKILLS_BETA, type SkillChoice } from './skills.js';

/** Someone saved the agent since this editor opened it. */
export class AgentEditConflict extends Error {}

export interface AgentServiceOptions {
  store: Store;
  anthropic: Anthropic;
  directory: SlackDirectory;
  admins: AdminDirectory;
  notices: AgentNotices;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
}

/**
 * Agents as Managed Agents agents (docs/architecture.md#agents-and-permissions): each save
 * publishes a new version whose toolsets enable only the tools admins set to ask or allow, and only
 * while those tools are as reviewed.
 */
export class AgentService {
  constructor(private readonly deps: AgentServiceOptions) {}

  get(name: string): Promise<StoredAgent | undefined> {
    return this.deps.store.agents.get(name);
  }

  list(): Promise<StoredAgent[]> {
    return this.deps.store.agents.list();
  }

  /**
   * The skills an admin may give an agent: the synced custom ones at their synced version, and
   * Anthropic's at their latest (each pinned so when chosen). Without the Skills API, the custom ones.
   * `anthropic: false` leaves Anthropic's out (and their listing, a call to the API, with them).
   */
  async skillChoices(options: { anthropic: boolean } = { anthropic: true }): Promise<SkillChoice[]> {
    const custom = (await this.deps.store.skills.list()).map(
      (s): SkillChoice => ({ type: 'custom', skillId: s.skillId, name: s.name, version: s.versionId }),
    );
    const anthropic: SkillChoice[] = [];
    if (!options.anthropic) return custom;
    try {
      for await (const skill of this.deps.anthropic.beta.skills.list({
        source: 'anthropic',
        betas: SKILLS_BETA,
      }))
        anthropic.push({
          type: 'anthropic',
          skillId: skill.id,
          name: skill.display_name,
          version: skill.latest_version_id,
        });
    } catch (error) {
      this.deps.logger.warn("Anthropic's skills could not be listed", { error: String(error) });
    }
    return [...custom, ...anthropic];
  }

  /** The catalogs of the agent's servers, by URL. */
  async catalogs(config: { servers: ReadonlyArray<{ url: string }> }): Promise<Map<string, CatalogTool[]>> {
    const entries = await Promise.all(
      config.servers.map(async (s) => [s.url, await this.deps.store.toolCatalog.list(s.url)] as const),
    );
    return new Map(entries);
  }

  /** Each configured tool's effective setting now (held back when changed or gone). */
  async status(agent: StoredAgent): Promise<ToolStatus[]> {
    return compileAgent(agent.config, await this.catalogs(agent.config)).status;
  }

  /**
   * Creates or updates the agent. `editedVersion` is the configuration version the admin started
   * from (undefined for a new agent); a save over someone else's newer save is refused.
   */
  async save(
    admin: Principal,
    config: AgentConfig,
    editedVersion: number | undefined,
    correlationId: string,
  ) {
    const existing = await this.deps.store.agents.get(config.name);
    if (existing?.configVersion !== editedVersion) throw new AgentEditConflict(config.name);
    const payload = compileAgent(config, await this.catalogs(config));
    const fields = {
      name: config.name,
      description: config.description,
      model: config.model,
      system: config.system,
      mcp_servers: payload.mcp_servers,
      tools: payload.tools,
      // A full replacement: skills taken out of the configuration leave the agent.
      skills: (config.skills ?? []).map((s) => ({ type: s.type, skill_id: s.skillId, version: s.version })),
      // Names this save, so one whose answer was lost is found rather than made again.
      metadata: { deputy_agent: config.name, deputy_save: this.deps.ids.next('save') },
    };
    const agents = this.deps.anthropic.beta.agents;
    const diff = diffConfigs(existing?.config, config).join('; ').slice(0, 2000) || '(no change)';
    // Recorded before anything is published: no agent version goes out unaudited (security R46).
    // The outcome's record names the same save.
    await this.deps.audit.record({
      action: AuditAction.AgentSaving,
      outcome: 'success',
      principal: admin,
      target: existing?.agentId ?? config.name,
      correlationId,
      details: { agent: config.name, save: fields.metadata.deputy_save, diff },
    });
    let published: { id: string; version: number };
    try {
      published = existing
        ? await this.publishOnce(existing.agentId, { ...fields, version: existing.agentVersion })
        : await exactlyOnce(
            this.deps.clock,
            () => agents.create(fields, { maxRetries: 0 }),
            () => this.findCreated(fields.metadata.deputy_save),
          );
    } catch (error) {
      // Managed Agents refuses an update of a version that moved on: someone else saved first.
      if (error instanceof Error && 'status' in error && error.status === 409)
        throw new AgentEditConflict(config.name);
      throw error;
    }
    const stored: StoredAgent = {
      name: config.name,
      config,
      configVersion: (existing?.configVersion ?? 0) + 1,
      agentId: published.id,
      agentVersion: published.version,
      payloadHash: payloadHash(payload),
      updatedBy: principalKey(admin),
      updatedAt: new Date(this.deps.clock.now()).toISOString(),
    };
    if (!(await this.deps.store.agents.put(stored, existing?.configVersion))) {
      // Another admin created this agent at the same moment: ours must not linger unused.
      if (!existing) await agents.archive(published.id).catch(() => undefined);
      throw new AgentEditConflict(config.name);
    }
    await this.deps.audit.record({
      action: AuditAction.AgentSaved,
      outcome: 'success',
      principal: admin,
      target: published.id,
      correlationId,
      details: {
        agent: config.name,
        agentVersion: published.version,
        configVersion: stored.configVersion,
        save: fields.metadata.deputy_save,
        diff,
      },
    });
    return stored;
  }

  /** Whether this person may run the agent here: everyone, or listed by user, channel or user group. */
  async mayRun(agent: StoredAgent, principal: Principal, channelId?: string): Promise<boolean> {
    const { access } = agent.config;
    if (access.kind === 'everyone') return true;
    if (access.users.includes(principal.userId)) return true;
    if (channelId && access.channels.includes(channelId)) return true;
    for (const group of access.userGroups) {
      // Fail closed: a group Slack does not answer about lets nobody in.
      const members = await this.deps.directory.groupMembers(group).catch((): string[] => []);
      if (members.includes(principal.userId)) return true;
    }
    return false;
  }

  /**
   * The first agent that may write with this person's connection to the connector: it uses the
   * server with a tool that may write switched on, they may use its writing tools, and they may run
   * it (anywhere: a channel-limited agent counts, since they may be in that channel). Undefined when
   * read access is all their agents need there.
   */
  async writeNeed(
    principal: Principal,
    connectorId: string,
    readOnlyTools: readonly string[] = [],
  ): Promise<string | undefined> {
    for (const agent of await this.list()) {
      const server = agent.config.servers.find((s) => s.connectorId === connectorId);
      // Tools switched off are not in the configuration at all.
      const writes = Object.keys(server?.tools ?? {}).some((name) => mayWrite(name, readOnlyTools));
      if (!writes) continue;
      const { writers, access } = agent.config;
      if (writers !== undefined && !writers.includes(principal.userId)) continue;
      if (access.kind === 'everyone' || access.channels.length > 0 || (await this.mayRun(agent, principal)))
        return agent.name;
    }
    return undefined;
  }

  /** `/agent agents`: the agents this person may run here, each with its tools' settings now. */
  async runnableBy(
    principal: Principal,
    channelId: string,
  ): Promise<Array<{ agent: StoredAgent; status: ToolStatus[] }>> {
    const runnable: Array<{ agent: StoredAgent; status: ToolStatus[] }> = [];
    for (const agent of await this.list()) {
      if (await this.mayRun(agent, principal, channelId))
        runnable.push({ agent, status: await this.status(agent) });
    }
    return runnable;
  }

  /**
   * A server's tools were listed again. Agents whose published toolsets no longer match (a reviewed
   * tool changed or disappeared) are published again without it, and admins are told by DM, as they
   * are of tools that are new (which start off).
   */
  async toolsSeen(serverUrl: string, listing: RecordedListing, correlationId: string): Promise<void> {
    const { changed, added } = listing;
    const affected = (await this.list()).filter((a) => a.config.servers.some((s) => s.url === serverUrl));
    const republished: string[] = [];
    // Every listing re-checks every affected agent, so a republish that failed last time is retried.
    for (const agent of affected) {
      try {
        if (await this.republishIfDrifted(agent.name, correlationId)) republished.push(agent.name);
      } catch (error) {
        this.deps.logger.error('holding back drifted tools failed', {
          agent: agent.name,
          error: String(error),
          correlationId,
        });
      }
    }
    if (changed.length > 0 || added.length > 0 || republished.length > 0) {
      await this.tellAdmins(serverUrl, affected, changed, added, republished);
    }
  }

  /**
   * Updates the agent from `params.version` once: an update whose answer was lost, or a 409 that is
   * its own earlier attempt, is recognised by the save id it wrote into the agent's metadata.
   */
  private publishOnce(agentId: string, params: AgentUpdateParams & { metadata: { deputy_save: string } }) {
    const agents = this.deps.anthropic.beta.agents;
    return exactlyOnce(
      this.deps.clock,
      () => agents.update(agentId, params, { maxRetries: 0 }),
      async () => {
        const agent = await agents.retrieve(agentId);
        return agent.metadata?.deputy_save === params.metadata.deputy_save ? agent : undefined;
      },
      { conflicts: true },
    );
  }

  /** The agent a create made, found by the save id in its metadata. */
  private async findCreated(saveId: string) {
    for await (const agent of this.deps.anthropic.beta.agents.list({ limit: 100 })) {
      if (agent.metadata?.deputy_save === saveId) return agent;
    }
    return undefined;
  }

  /** Publishes the agent again if its tools as compiled now differ from what was published. */
  private async republishIfDrifted(name: string, correlationId: string, attempt = 0): Promise<boolean> {
    const agent = await this.deps.store.agents.get(name);
    if (!agent) return false;
    const payload = compileAgent(agent.config, await this.catalogs(agent.config));
    if (payloadHash(payload) === agent.payloadHash) return false;
    try {
      const updated = await this.publishOnce(agent.agentId, {
        version: agent.agentVersion,
        mcp_servers: payload.mcp_servers,
        tools: payload.tools,
        metadata: { deputy_agent: agent.name, deputy_save: this.deps.ids.next('save') },
      });
      const next = { ...agent, agentVersion: updated.version, payloadHash: payloadHash(payload) };
      // Same configuration version: this is Deputy holding tools back, not an admin's edit.
      if (!(await this.deps.store.agents.put(next, agent.configVersion))) throw new AgentEditConflict(name);
      await this.deps.audit.record({
        action: AuditAction.AgentToolsHeldBack,
        outcome: 'success',
        target: agent.agentId,
        correlationId,
        details: {
          agent: agent.name,
          agentVersion: updated.version,
          heldBack: payload.status
            .filter((s) => s.heldBack)
            .map((s) => `${s.server}.${s.tool}`)
            .join(', '),
        },
      });
      return true;
    } catch (error) {
      const conflict =
        error instanceof AgentEditConflict ||
        (error instanceof Error && 'status' in error && error.status === 409);
      if (conflict && attempt < 2) return this.republishIfDrifted(name, correlationId, attempt + 1);
      throw error;
    }
  }

  /** The configured admins and whoever last saved each affected agent. */
  private async tellAdmins(
    serverUrl: string,
    affected: StoredAgent[],
    changed: string[],
    added: string[],
    republished: string[],
  ) {
    const people = new Set([
      ...this.deps.admins.configured,
      ...affected.map((a) => a.updatedBy.split(':').at(-1) ?? ''),
    ]);
    await this.deps.notices.toolsChanged([...people].filter(Boolean), {
      serverUrl,
      agents: affected.map((a) => a.name),
      changed,
      added,
      republished,
    });
  }
}
