import type Anthropic from '@anthropic-ai/sdk';
import { narrowForUser } from '../agents/agent-config.js';
import type { AgentService } from '../agents/agent-service.js';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Connector } from '../connections/catalog.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { SessionAct, Steering } from '../identity/steering.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import { exactlyOnce } from '../outcome.js';
import type { RunIntent, SessionRecord, Store } from '../store/index.js';
import type { VaultService } from '../vaults/vault-service.js';
import { interruptedThisTurn, newestUserMessage, sendReconciled, userMessageAfter } from './events.js';
import { type MessageRef, type SessionNotices, sameMessage } from './notices.js';

export type RunOutcome =
  | { kind: 'no_agent'; name?: string }
  | { kind: 'not_allowed'; name: string }
  | { kind: 'no_prompt' }
  | { kind: 'duplicate' }
  | {
      kind: 'needs_connections';
      agentName: string;
      /** Each connector not connected, with a Connect link where it connects through the browser. */
      missing: Array<{ connector: Connector; link?: string }>;
      intentId: string;
    }
  | { kind: 'started'; session: SessionRecord };

/** A reply in a session's thread. */
export type FollowUpOutcome =
  | { kind: 'not_a_session' }
  | { kind: 'refused'; owner: Principal }
  | { kind: 'empty' }
  | { kind: 'sent' };

/** Stop or Share on a session. */
export type ControlOutcome = 'done' | 'already' | 'not_running' | 'not_allowed' | 'wrong_message';

/** The longest follow-up sent to an agent; the rest of a longer reply is dropped. */
const MAX_FOLLOW_UP = 10_000;

export interface SessionServiceOptions {
  store: Store;
  anthropic: Anthropic;
  notices: SessionNotices;
  steering: Steering;
  agents: AgentService;
  connections: ConnectionsService;
  vaults: VaultService;
  /** The relays: a session that starts or is steered again must be relayed. */
  relays: { ensure(sessionId: string): void };
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** Where sessions run (ANTHROPIC_ENVIRONMENT_ID, or the sandbox's). */
  environmentId?: string;
  /** DEPUTY_DEFAULT_AGENT. */
  defaultAgent?: string;
}

/**
 * Sessions (docs/architecture.md#sessions): `/agent run` starts one bound to the invoker's vault
 * and nobody else's, running the agent pinned by id and version and narrowed to what this person
 * may use, created exactly once; only its own person steers it afterwards (follow-ups, Stop, Share).
 */
export class SessionService {
  constructor(private readonly deps: SessionServiceOptions) {}

  /** Reads `[--agent NAME] PROMPT`, checks who may run what, and starts the session (or says what is missing). */
  async run(
    principal: Principal,
    request: { text: string; channelId: string; dedupeKey: string },
    correlationId: string,
  ): Promise<RunOutcome> {
    const { agentName: named, prompt } = parseRun(request.text);
    if (!prompt) return { kind: 'no_prompt' };
    const agentName = named ?? this.deps.defaultAgent ?? (await this.onlyAgent());
    const agent = agentName ? await this.deps.agents.get(agentName) : undefined;
    if (!agent) return { kind: 'no_agent', ...(agentName ? { name: agentName } : {}) };
    if (!(await this.deps.agents.mayRun(agent, principal, request.channelId)))
      return { kind: 'not_allowed', name: agent.name };
    const { intent, created } = await this.deps.store.runIntents.record(
      {
        intentId: this.deps.ids.next('intent'),
        dedupeKey: request.dedupeKey,
        principal,
        agentName: agent.name,
        prompt,
        channelId: request.channelId,
      },
      this.deps.clock.now(),
    );
    // The same Slack delivery again (a retry or a replay): the first one is already starting it.
    if (!created) return { kind: 'duplicate' };
    const missing = await this.missingConnections(
      principal,
      agent.config.servers.map((s) => s.connectorId),
    );
    if (missing.length > 0) {
      const withLinks = await Promise.all(
        missing.map(async (connector) =>
          connector.auth.type === 'static_token'
            ? { connector }
            : { connector, link: await this.deps.connections.mintLink(principal, connector.id) },
        ),
      );
      return {
        kind: 'needs_connections',
        agentName: agent.name,
        missing: withLinks,
        intentId: intent.intentId,
      };
    }
    if (!(await this.deps.store.runIntents.claim(intent.dedupeKey, this.deps.clock.now())))
      return { kind: 'duplicate' };
    return { kind: 'started', session: await this.start(intent, correlationId) };
  }

  /** "Run without them": the intent, started with only the servers its owner has connected. */
  async runWithout(
    principal: Principal,
    intentId: string,
    correlationId: string,
  ): Promise<SessionRecord | undefined> {
    const intent = await this.deps.store.runIntents.byId(intentId);
    // Only the intent's own person can start it, still allowed to run the agent, and only once.
    if (!intent || !(await this.deps.steering.mayAct(principal, intent, 'start'))) return undefined;
    const agent = await this.deps.agents.get(intent.agentName);
    if (!agent || !(await this.deps.agents.mayRun(agent, principal, intent.channelId))) return undefined;
    if (!(await this.deps.store.runIntents.claim(intent.dedupeKey, this.deps.clock.now()))) return undefined;
    return this.start(intent, correlationId);
  }

  private async start(intent: RunIntent, correlationId: string): Promise<SessionRecord> {
    const { store, clock } = this.deps;
    const principal = intent.principal;
    const agent = await this.deps.agents.get(intent.agentName);
    if (!agent) throw new Error(`agent ${intent.agentName} is gone`);
    if (!this.deps.environmentId)
      throw new Error('no environment to run sessions in (ANTHROPIC_ENVIRONMENT_ID)');
    // The vault invariant: this person's own vault, verified to name them, and only that one.
    const vault = await this.deps.vaults.ensure(principal, correlationId);
    const connected = new Set(
      (await store.connections.list(principalKey(principal)))
        .filter((c) => c.status === 'connected')
        .map((c) => c.connectorId),
    );
    const catalog = await this.deps.connections.catalog();
    const narrowed = narrowForUser(
      agent.config,
      await this.deps.agents.catalogs(agent.config),
      { userId: principal.userId, connectedServers: connected },
      (connectorId) => catalog.find((c) => c.id === connectorId)?.readOnlyTools ?? [],
    );
    const body = {
      agent: {
        type: 'agent_with_overrides' as const,
        id: agent.agentId,
        version: agent.agentVersion,
        mcp_servers: narrowed.mcp_servers,
        tools: narrowed.tools,
      },
      environment_id: this.deps.environmentId,
      vault_ids: [vault.id],
      title: `${agent.name}: ${intent.prompt.slice(0, 80)}`,
      metadata: {
        deputy_principal: principalKey(principal),
        deputy_intent: intent.intentId,
        deputy_agent: agent.name,
        slack_channel: intent.channelId,
      },
      initial_events: [
        { type: 'user.message' as const, content: [{ type: 'text' as const, text: intent.prompt }] },
      ],
      // The ceiling in minor units as an integer string: "2500" is $25.00 (the API avoids floats).
      ...(agent.config.spendCeilingUsd
        ? {
            budget: {
              type: 'limit' as const,
              max_list_cost: {
                amount: String(Math.round(agent.config.spendCeilingUsd * 100)),
                currency: 'USD' as const,
              },
            },
          }
        : {}),
    };
    // Recorded before anything runs: a session that cannot be audited is not started (security R46).
    await this.deps.audit.record({
      action: AuditAction.SessionRequested,
      outcome: 'success',
      principal,
      target: intent.intentId,
      correlationId,
      details: {
        agent: agent.name,
        agentVersion: agent.agentVersion,
        vault: vault.id,
        channel: intent.channelId,
      },
    });
    const session = await this.createOnce(body, intent.intentId);
    await this.deps.audit.record({
      action: AuditAction.SessionCreated,
      outcome: 'success',
      principal,
      target: session.id,
      correlationId,
      details: {
        agent: agent.name,
        agentVersion: agent.agentVersion,
        vault: vault.id,
        channel: intent.channelId,
        intent: intent.intentId,
        droppedServers: narrowed.droppedServers.join(', '),
        droppedWriteTools: narrowed.droppedWriteTools.join(', '),
      },
    });
    const thread = await this.deps.notices.opened({
      sessionId: session.id,
      principal,
      agentName: agent.name,
      prompt: intent.prompt,
      channelId: intent.channelId,
      status: 'running',
    });
    const record: SessionRecord = {
      sessionId: session.id,
      intentId: intent.intentId,
      principal,
      principalKey: principalKey(principal),
      agentName: agent.name,
      agentId: agent.agentId,
      agentVersion: agent.agentVersion,
      channelId: intent.channelId,
      dmChannelId: thread.dmChannelId,
      threadTs: thread.threadTs,
      prompt: intent.prompt,
      status: 'running',
      ...(agent.config.approverGroup ? { approverGroup: agent.config.approverGroup } : {}),
      createdAt: new Date(clock.now()).toISOString(),
    };
    await store.sessions.put(record);
    await store.runIntents.started(intent.dedupeKey, session.id);
    this.deps.relays.ensure(session.id);
    return record;
  }

  /**
   * Creates the session, retrying 429/5xx (honouring retry-after) without ever making two: a
   * create whose outcome is unknown is looked up by its intent id before it is tried again.
   */
  private createOnce(body: Parameters<Anthropic['beta']['sessions']['create']>[0], intentId: string) {
    return exactlyOnce(
      this.deps.clock,
      () => this.deps.anthropic.beta.sessions.create(body, { maxRetries: 0 }),
      () => this.findByIntent(intentId),
    );
  }

  private async findByIntent(intentId: string) {
    let seen = 0;
    for await (const session of this.deps.anthropic.beta.sessions.list({ limit: 50, order: 'desc' })) {
      if (session.metadata?.deputy_intent === intentId) return session;
      seen += 1;
      if (seen >= 200) break;
    }
    return undefined;
  }

  /** `/agent sessions`: the person's recent sessions, newest first. */
  recent(principal: Principal): Promise<SessionRecord[]> {
    return this.deps.store.sessions.byOwner(principalKey(principal));
  }

  /**
   * A reply in a session's thread (the owner's DM, or a shared result in a channel): a follow-up for
   * the agent when its own person writes it; anyone else is refused (and audited), and nothing is sent.
   */
  async followUp(
    principal: Principal,
    reply: { channelId: string; threadTs: string; text: string },
    correlationId: string,
  ): Promise<FollowUpOutcome> {
    const session = await this.deps.store.sessions.byThread(reply.channelId, reply.threadTs);
    if (!session) return { kind: 'not_a_session' };
    if (!(await this.permitted(principal, session, 'follow_up', session.sessionId, correlationId)))
      return { kind: 'refused', owner: session.principal };
    const text = reply.text.slice(0, MAX_FOLLOW_UP);
    if (!text) return { kind: 'empty' };
    // Marks where the session's messages stood, so a send whose answer is lost is found, not repeated.
    const before = await newestUserMessage(this.deps.anthropic, session.sessionId);
    await sendReconciled(
      this.deps,
      session.sessionId,
      [{ type: 'user.message', content: [{ type: 'text', text }] }],
      (history) => userMessageAfter(history, before, text),
    );
    this.deps.relays.ensure(session.sessionId);
    return { kind: 'sent' };
  }

  /**
   * Stop, clicked on the session's root message: the agent is interrupted, once per turn (its own
   * person only).
   */
  async stop(
    principal: Principal,
    sessionId: string,
    correlationId: string,
    clickedOn: MessageRef | undefined,
  ): Promise<ControlOutcome> {
    const session = await this.deps.store.sessions.get(sessionId);
    const refused = await this.refusal(principal, session, 'stop', sessionId, correlationId, clickedOn);
    if (refused) return refused;
    if (!session || (session.status !== 'running' && session.status !== 'waiting')) return 'not_running';
    if (!(await this.deps.store.sessions.claimStop(sessionId, this.deps.clock.now()))) return 'already';
    await this.deps.audit.record({
      action: AuditAction.SessionStopped,
      outcome: 'success',
      principal,
      target: sessionId,
      correlationId,
    });
    try {
      await sendReconciled(this.deps, sessionId, [{ type: 'user.interrupt' }], interruptedThisTurn);
    } catch (error) {
      await this.deps.store.sessions.releaseStop(sessionId);
      throw error;
    }
    return 'done';
  }

  /**
   * Share to channel, clicked on the session's root message: the result goes to the channel it was
   * run in, once, on its own person's explicit click.
   */
  async share(
    principal: Principal,
    sessionId: string,
    correlationId: string,
    clickedOn: MessageRef | undefined,
  ): Promise<ControlOutcome> {
    const session = await this.deps.store.sessions.get(sessionId);
    const refused = await this.refusal(principal, session, 'share', sessionId, correlationId, clickedOn);
    if (refused || !session) return refused ?? 'not_allowed';
    if (session.status === 'running' || session.status === 'waiting') return 'not_running';
    // Claimed before posting: two clicks (or a retried delivery) post once. A post that then fails is
    // not retried, as a post whose answer was lost may already be in the channel.
    if (!(await this.deps.store.sessions.claimShare(sessionId, this.deps.clock.now()))) return 'already';
    await this.deps.audit.record({
      action: AuditAction.SessionShared,
      outcome: 'success',
      principal,
      target: sessionId,
      correlationId,
      details: { channel: session.channelId },
    });
    const sharedTs = await this.deps.notices.shared(session, session.resultText ?? '(no text)');
    if (sharedTs) {
      await this.deps.store.sessions.update(session.sessionId, { sharedTs });
      // Replies in the shared result's thread reach this session too (and are refused unless its own).
      await this.deps.store.sessions.indexThread(session.channelId, sharedTs, session.sessionId);
      await this.deps.notices
        .statusChanged({ ...session, sharedTs })
        .catch((error: unknown) =>
          this.deps.logger.warn('root message not updated', { error: String(error) }),
        );
    }
    return 'done';
  }

  /**
   * Why a click on Stop or Share is refused, if it is: it must come from the session's root message,
   * by its own person. A refusal is audited.
   */
  private async refusal(
    principal: Principal,
    session: SessionRecord | undefined,
    act: SessionAct,
    target: string,
    correlationId: string,
    clickedOn: MessageRef | undefined,
  ): Promise<'not_allowed' | 'wrong_message' | undefined> {
    const root = session ? { channelId: session.dmChannelId, messageTs: session.threadTs } : undefined;
    if (sameMessage(root, clickedOn))
      return (await this.permitted(principal, session, act, target, correlationId))
        ? undefined
        : 'not_allowed';
    await this.deps.audit.record({
      action: AuditAction.SessionSteerRefused,
      outcome: 'refused',
      principal,
      target,
      correlationId,
      details: {
        reason: 'not_its_message',
        container: clickedOn ? `${clickedOn.channelId}/${clickedOn.messageTs}` : 'none',
      },
    });
    return 'wrong_message';
  }

  /** Whether the person may do this to the session; a refusal is audited. */
  private async permitted(
    principal: Principal,
    session: SessionRecord | undefined,
    act: SessionAct,
    target: string,
    correlationId: string,
  ): Promise<boolean> {
    if (session && (await this.deps.steering.mayAct(principal, session, act))) return true;
    await this.deps.audit.record({
      action: AuditAction.SessionSteerRefused,
      outcome: 'refused',
      principal,
      target,
      correlationId,
    });
    return false;
  }

  private async missingConnections(principal: Principal, connectorIds: string[]): Promise<Connector[]> {
    const connections = await this.deps.store.connections.list(principalKey(principal));
    const catalog = await this.deps.connections.catalog();
    return connectorIds
      .filter((id) => !connections.some((c) => c.connectorId === id && c.status === 'connected'))
      .map((id) => catalog.find((c) => c.id === id))
      .filter((c): c is Connector => c !== undefined);
  }

  private async onlyAgent(): Promise<string | undefined> {
    const agents = await this.deps.agents.list();
    return agents.length === 1 ? agents[0]?.name : undefined;
  }
}

/** `[--agent NAME] PROMPT` (after the word `run`). */
export function parseRun(text: string): { agentName?: string; prompt: string } {
  const match = /^--agent[= ]+([a-z0-9][a-z0-9-]{0,39})\s*([\s\S]*)$/i.exec(text.trim());
  return match
    ? { agentName: (match[1] ?? '').toLowerCase(), prompt: (match[2] ?? '').trim() }
    : { prompt: text.trim() };
}
