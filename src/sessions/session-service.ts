import Anthropic from '@anthropic-ai/sdk';
import type { AdminAccess } from '../agents/admin-access.js';
import { narrowForUser } from '../agents/agent-config.js';
import type { AgentService } from '../agents/agent-service.js';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Connector } from '../connections/catalog.js';
import type { CatalogAccountService } from '../connections/catalog-accounts.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import type { PersonalHome } from '../connections/notices.js';
import { fingerprint } from '../fingerprint.js';
import { type Principal, principalKey, sameWorkspace } from '../identity/principal.js';
import type { SessionAct, Steering } from '../identity/steering.js';
import type { IdSource } from '../ids.js';
import type { BudgetCheck, Budgets } from '../limits/budgets.js';
import { isLive, type LiveLimit, type LiveTake } from '../limits/live-limit.js';
import type { RateCheck, RateLimiter } from '../limits/rate-limiter.js';
import type { Logger } from '../logger.js';
import { exactlyOnce, TakenOver } from '../outcome.js';
import type { ConversationMessage } from '../slack/directory.js';
import {
  CONTEXT_MAX_MESSAGE_CHARS,
  type Connection,
  type RunIntent,
  type SessionRecord,
  type StandingRefusal,
  type StartLease,
  type Store,
  type StoredAgent,
} from '../store/index.js';
import type { MemoryService } from '../vaults/memory-service.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { AckGate, Work } from '../work.js';
import {
  interruptedThisTurn,
  newestUserMessage,
  sendReconciled,
  sessionHistory,
  userMessageAfter,
} from './events.js';
import {
  type MessageRef,
  type SessionNotices,
  type ShareRefusal,
  sameMessage,
  stoppedAtCeiling,
} from './notices.js';
import { type ContextSource, contextForAgent, type SlackContext } from './slack-context.js';
import { type ToolCallDetail, toolCallDetails } from './tool-results.js';

export type RunOutcome =
  /** Deputy no longer acts for this person (they left, were suspended, or the app was removed). */
  | { kind: 'refused'; refusal: StandingRefusal }
  | { kind: 'no_agent'; name?: string }
  | { kind: 'not_allowed'; name: string }
  | { kind: 'no_prompt' }
  | { kind: 'duplicate' }
  /** The conversation it was asked about is not one the person can read in Slack: nothing of it was read or started. */
  | { kind: 'context_not_readable' }
  /** Over a rate limit (issue 19): nothing was recorded or started. */
  | { kind: 'rate_limited'; limited: RateLimited }
  /** At the live-session limit (issue 19): nothing was started; the person's live sessions, to stop one. */
  | TooManyLive
  /** A spend budget of the person or the agent is used up (issue 19): nothing was started. */
  | OverBudget
  | {
      kind: 'needs_connections';
      agentName: string;
      /** Each connector not connected, with a Connect link where it connects through the browser. */
      missing: Array<{ connector: Connector; link?: string }>;
      intentId: string;
    }
  | { kind: 'started'; session: StartedSession }
  /** This process was too slow and the sweep finished the start: the session opens from there. */
  | { kind: 'recovered'; agentName: string };

/** A refusal at the live-session limit: whose (the person's or the agent's), the limit, and the person's live sessions. */
export type TooManyLive = { kind: 'too_many_live' } & Omit<Extract<LiveTake, { kind: 'full' }>, 'kind'>;

/** A refusal for a used-up budget: whose, which period, the budget and what was spent. */
export type OverBudget = { kind: 'over_budget'; reached: Extract<BudgetCheck, { kind: 'reached' }> };

/** A refusal by a rate limit: which limit, and how long until it has room. */
export type RateLimited = Extract<RateCheck, { kind: 'limited' }>;

/** A session just created: what the person is told; its thread opens right after. */
export interface StartedSession {
  sessionId: string;
  agentName: string;
  /** Where it was run from. */
  channelId: string;
  /**
   * Opens its thread and writes its record (tracked work). Called once the person has been told it
   * started, so telling them waits on nothing else; more calls do nothing. `opened` runs in the same
   * work once the record is written (to point the person at the thread, say).
   */
  open(opened?: (session: SessionRecord) => Promise<void>): void;
}

/** A reply in a session's thread. */
export type FollowUpOutcome =
  | { kind: 'not_a_session' }
  | { kind: 'refused'; owner: Principal }
  | { kind: 'empty' }
  /** Over the follow-up rate limit: nothing was sent. */
  | { kind: 'rate_limited'; limited: RateLimited }
  /** It rested, and waking it would pass the live-session limit: nothing was sent. */
  | TooManyLive
  /** The person's or the agent's budget is used up: nothing was sent. */
  | OverBudget
  /** The session stopped at its spend ceiling: it takes no reply until an admin raises it. */
  | { kind: 'budget_reached'; sessionId: string }
  /** Archived after resting: read-only at Anthropic, so a new run is the way on. */
  | { kind: 'archived' }
  /** Ended (terminated at Anthropic): it takes no more messages. */
  | { kind: 'ended' }
  | { kind: 'sent' };

/** An admin's `/agent budget SESSION USD`. */
export type RaiseCeilingOutcome =
  | { kind: 'not_admin' }
  | { kind: 'no_session' }
  /** The session has ended (or is gone at Managed Agents): it runs no more turns. */
  | { kind: 'ended' }
  /** It was started without a ceiling, and Managed Agents adds none afterwards. */
  | { kind: 'no_ceiling' }
  /** The new ceiling is not above what it has spent already, or above its current ceiling. */
  | { kind: 'not_raised'; spent?: Money; current?: Money }
  | { kind: 'raised'; session: SessionRecord; ceiling: Money };

type Money = NonNullable<SessionRecord['ceiling']>;

/**
 * How long a session rests after its last turn before it is archived at Anthropic: read-only there
 * (its container released), out of the API's session lists, still kept (and shareable) until its
 * purge at DEPUTY_RETENTION_DAYS.
 */
export const ARCHIVE_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
/** How soon an archive Anthropic refused for now (still running there) is tried again. */
const ARCHIVE_RETRY_MS = 10 * 60 * 1000;

/** When the sweep archives a session: done now, later (file it again then), or nothing to do. */
export type ArchiveOutcome = { kind: 'archived' } | { kind: 'later'; dueMs: number } | { kind: 'nothing' };

/** What a start already knows: the agent and connections it read, and the room the budgets leave. */
interface StartKnown {
  agent?: StoredAgent;
  connections?: Connection[];
  budget: Extract<BudgetCheck, { kind: 'within' }>;
}

/** The least of the amounts given (undefined when none is). */
function leastOf(...amounts: Array<number | undefined>): number | undefined {
  const given = amounts.filter((a): a is number => a !== undefined);
  return given.length > 0 ? Math.min(...given) : undefined;
}

/** The highest spend ceiling Deputy sets, per session, in US dollars (as in /agent setup). */
export const MAX_CEILING_USD = 10_000;

/** Stop or Share on a session. */
export type ControlOutcome = 'done' | 'already' | 'not_running' | 'not_allowed' | 'wrong_message';
/**
 * Share's outcomes: a control's (`shared` in place of `done`: where it went, and its link when Slack
 * gave one), or Slack refusing the post in that channel.
 */
export type ShareOutcome =
  | Exclude<ControlOutcome, 'done'>
  | ShareRefusal
  | { kind: 'shared'; channelId: string; permalink?: string };

/**
 * How long a start may take before the sweep may finish it instead: well past the session create's
 * four attempts of at most `CREATE_TIMEOUT_MS` each, so a live start is never overtaken.
 */
const START_LEASE_MS = 2 * 60 * 1000;
const CREATE_TIMEOUT_MS = 20 * 1000;
/** How far before an intent's recording (Deputy's clock) its session may seem created (Anthropic's). */
const INTENT_LOOKUP_SKEW_MS = 10 * 60 * 1000;

/** What the agent is told of the memory store it is given (rendered into its system prompt). */
const MEMORY_INSTRUCTIONS =
  'This memory belongs to the person who started this session and to no one else. Keep in it what will help them in later sessions.';

/** How many recent sessions the Home tab shows. */
const HOME_SESSIONS = 5;

/** How long a message shortcut's modal may stay open before its run is no longer taken. */
const PENDING_RUN_MS = 60 * 60 * 1000;

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
  /** Where a start's second half (its thread and record, after the person is told) is tracked. */
  work: Pick<Work, 'track'>;
  /** Slack deliveries before their ack: a start's second half waits for them. */
  acks?: Pick<AckGate, 'passed'>;
  ids: IdSource;
  logger: Logger;
  /** Where sessions run (ANTHROPIC_ENVIRONMENT_ID, or the sandbox's). */
  environmentId?: string;
  /** DEPUTY_DEFAULT_AGENT. */
  defaultAgent?: string;
  /** DEPUTY_RETENTION_DAYS in milliseconds: when a session is first looked at for purging. */
  retentionMs: number;
  /** Lists a stale catalog again before a session starts, so a changed tool is held back first. */
  catalogAccounts: Pick<CatalogAccountService, 'ensureFresh'>;
  /** Who may raise a session's ceiling. */
  access: AdminAccess;
  /** Each person's own memory store, for agents that remember per person. */
  memories: Pick<MemoryService, 'ensure'>;
  /** Per-person rate limits on runs and follow-ups. */
  limits: Pick<RateLimiter, 'take'>;
  /** Live-session slots per person and per agent. */
  live: Pick<LiveLimit, 'take' | 'release'>;
  /** Spend budgets: a run starts only within them, its session's ceiling what they have left. */
  budgets: Pick<Budgets, 'check' | 'refused'>;
  /** Reads a mention's thread or a shortcut's message as context, as far as the person can read it. */
  context: Pick<SlackContext, 'read'>;
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
    request: { text: string; channelId: string; dedupeKey: string; context?: ContextSource },
    correlationId: string,
  ): Promise<RunOutcome> {
    const { store, clock } = this.deps;
    const { agentName: named, prompt } = parseRun(request.text);
    // The budgets of the agent named (or the default one) are read with the first round trip.
    const namedAgent = named ?? this.deps.defaultAgent;
    const early = namedAgent ? this.deps.budgets.check(principal, namedAgent) : undefined;
    early?.catch(() => undefined);
    // Asked together: one round trip (see docs/architecture.md#sessions for the start's calls).
    const [refusal, connections, rate] = await Promise.all([
      store.standing.refusal(principal),
      store.connections.list(principalKey(principal)),
      this.deps.limits.take(principal, 'run', correlationId),
    ]);
    if (refusal) {
      await this.deps.audit.record({
        action: AuditAction.StandingRefused,
        outcome: 'refused',
        principal,
        target: '/agent run',
        correlationId,
        details: { refusal },
      });
      return { kind: 'refused', refusal };
    }
    // Over the limit: refused before anything is recorded or started.
    if (rate.kind === 'limited') return { kind: 'rate_limited', limited: rate };
    if (!prompt) return { kind: 'no_prompt' };
    const agentName = namedAgent ?? (await this.onlyAgent());
    // Otherwise read while the agent is looked up.
    const budget = early ?? (agentName ? this.deps.budgets.check(principal, agentName) : undefined);
    budget?.catch(() => undefined);
    const agent = agentName ? await this.deps.agents.get(agentName) : undefined;
    if (!agent) return { kind: 'no_agent', ...(agentName ? { name: agentName } : {}) };
    if (!(await this.deps.agents.mayRun(agent, principal, request.channelId)))
      return { kind: 'not_allowed', name: agent.name };
    const [missing, withinBudget] = await Promise.all([
      this.missingConnections(
        connections,
        agent.config.servers.map((s) => s.connectorId),
      ),
      budget ?? this.deps.budgets.check(principal, agent.name),
    ]);
    // A budget used up: refused before anything is recorded or started.
    if (withinBudget.kind === 'reached')
      return this.overBudget(principal, withinBudget, '/agent run', correlationId);
    // Slack messages as context: only a conversation the person can read there, or nothing at all.
    const context = request.context
      ? await this.deps.context.read(principal.userId, request.context)
      : undefined;
    if (request.context && !context) return { kind: 'context_not_readable' };
    const intent: RunIntent = {
      intentId: this.deps.ids.next('intent'),
      dedupeKey: request.dedupeKey,
      principal,
      agentName: agent.name,
      prompt,
      channelId: request.channelId,
      ...(context ? { context } : {}),
      correlationId,
      recordedAtMs: clock.now(),
    };
    // Nothing missing: recorded and claimed for starting in the same conditional write.
    const lease = missing.length === 0 ? this.startLease() : undefined;
    // With it, in the same round trip, the live-session slots of the person and of the agent (a
    // slot just taken is kept even before its intent can be found).
    const owner = { principal, agentName: agent.name, intentId: intent.intentId };
    const [recorded, slot] = await Promise.all([
      store.runIntents.record(intent, clock.now(), lease),
      lease ? this.deps.live.take(owner) : undefined,
    ]);
    // The same Slack delivery again (a retry or a replay): the first one is already starting it.
    if (!recorded.created) {
      if (slot?.kind === 'taken') await this.deps.live.release(owner);
      return { kind: 'duplicate' };
    }
    // At the limit: the start is closed (the sweep never starts it) and nothing runs.
    if (slot?.kind === 'full') {
      await store.runIntents.finished(intent.dedupeKey, clock.now());
      return { kind: 'too_many_live', scope: slot.scope, limit: slot.limit, live: slot.live };
    }
    if (!lease) {
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
    const started = await this.start(intent, lease, correlationId, {
      agent,
      connections,
      budget: withinBudget,
    });
    // Another process took the start over (this one was too slow): it opens the session.
    return started ? { kind: 'started', session: started } : { kind: 'recovered', agentName: agent.name };
  }

  /**
   * A message shortcut: the message Slack sent with it is kept for the modal the person fills in
   * (which agent, and what to do with it); the agents they may run in that channel, for its picker.
   */
  async beginMessageRun(
    principal: Principal,
    from: { channelId: string; message: ConversationMessage },
  ): Promise<
    | { kind: 'ready'; pendingId: string; agents: string[] }
    | { kind: 'refused'; refusal: StandingRefusal }
    | { kind: 'no_agents' }
  > {
    const { store, clock } = this.deps;
    const refusal = await store.standing.refusal(principal);
    if (refusal) return { kind: 'refused', refusal };
    const agents: string[] = [];
    for (const agent of await this.deps.agents.list())
      if (await this.deps.agents.mayRun(agent, principal, from.channelId)) agents.push(agent.name);
    if (agents.length === 0) return { kind: 'no_agents' };
    const pendingId = this.deps.ids.next('pending');
    await store.pendingRuns.put({
      pendingId,
      principal,
      channelId: from.channelId,
      message: { ...from.message, text: from.message.text.slice(0, CONTEXT_MAX_MESSAGE_CHARS) },
      expiresAtMs: clock.now() + PENDING_RUN_MS,
    });
    return { kind: 'ready', pendingId, agents };
  }

  /**
   * The shortcut's modal submitted: a run as any other, with the message as its context (read again
   * against what the person can read now), once per modal. Only the person who began it may.
   */
  async runOnMessage(
    principal: Principal,
    request: { pendingId: string; agentName: string; prompt: string },
    correlationId: string,
  ): Promise<RunOutcome | { kind: 'expired' }> {
    const pending = await this.deps.store.pendingRuns.get(request.pendingId, this.deps.clock.now());
    if (!pending || principalKey(pending.principal) !== principalKey(principal)) return { kind: 'expired' };
    return this.run(
      principal,
      {
        text: `--agent ${request.agentName} ${request.prompt}`,
        channelId: pending.channelId,
        dedupeKey: `shortcut:${request.pendingId}`,
        context: { kind: 'message', channelId: pending.channelId, message: pending.message },
      },
      correlationId,
    );
  }

  /** "Run without them": the intent, started with only the servers its owner has connected. */
  async runWithout(
    principal: Principal,
    intentId: string,
    correlationId: string,
  ): Promise<StartedSession | TooManyLive | OverBudget | undefined> {
    const intent = await this.deps.store.runIntents.byId(intentId);
    // Only the intent's own person can start it, still allowed to run the agent, and only once.
    if (!intent || !(await this.deps.steering.mayAct(principal, intent, 'start'))) return undefined;
    const agent = await this.deps.agents.get(intent.agentName);
    if (!agent || !(await this.deps.agents.mayRun(agent, principal, intent.channelId))) return undefined;
    // The budgets hold here as for any run; the intent stays open, to run once there is room.
    const budget = await this.deps.budgets.check(principal, agent.name);
    if (budget.kind === 'reached') return this.overBudget(principal, budget, intentId, correlationId);
    const lease = this.startLease();
    if (!(await this.deps.store.runIntents.claim(intent.dedupeKey, lease, this.deps.clock.now())))
      return undefined;
    // The live-session limit holds here as for any run (issue 19): at it, the start is closed.
    const slot = await this.deps.live.take({ principal, agentName: agent.name, intentId: intent.intentId });
    if (slot.kind === 'full') {
      await this.deps.store.runIntents.finished(intent.dedupeKey, this.deps.clock.now());
      return { kind: 'too_many_live', scope: slot.scope, limit: slot.limit, live: slot.live };
    }
    return this.start(intent, lease, correlationId, { agent, budget });
  }

  /** A refusal for a used-up budget, audited (each one: the rate limits bound how many). */
  private async overBudget(
    principal: Principal,
    reached: OverBudget['reached'],
    target: string,
    correlationId: string,
  ): Promise<OverBudget> {
    await this.deps.budgets.refused(principal, reached, target, correlationId);
    return { kind: 'over_budget', reached };
  }

  /**
   * Starts a claimed intent's session. A failure is recorded on the intent (its person is told by
   * the caller) and leaves the start open for the sweep, which checks no session was made after all.
   */
  private async start(
    intent: RunIntent,
    lease: StartLease,
    correlationId: string,
    known: StartKnown,
  ): Promise<StartedSession | undefined> {
    try {
      return await this.create(intent, lease, correlationId, known);
    } catch (error) {
      if (error instanceof TakenOver) return undefined;
      await this.deps.store.runIntents
        .failed(intent.dedupeKey, lease.owner, this.deps.clock.now())
        .catch(() => undefined);
      throw error;
    }
  }

  /**
   * Creates the session of a claimed intent. The person is told it started as soon as it exists;
   * its thread opens and its record is written right after (`open`, tracked work). A failure there
   * ends the start's lease, so the sweep opens the session (it exists) as if the start had gone on.
   */
  private async create(
    intent: RunIntent,
    lease: StartLease,
    correlationId: string,
    known: StartKnown,
  ): Promise<StartedSession | undefined> {
    const { store } = this.deps;
    const principal = intent.principal;
    let agent = known.agent ?? (await this.deps.agents.get(intent.agentName));
    if (!agent) throw new Error(`agent ${intent.agentName} is gone`);
    // A catalog older than the check interval is listed again first: a tool that changed since is
    // held back (the agent republished without it) before this session can run it.
    const servers = agent.config.servers.map((s) => s.url);
    if (await this.deps.catalogAccounts.ensureFresh(servers, correlationId)) {
      agent = await this.deps.agents.get(intent.agentName);
      if (!agent) throw new Error(`agent ${intent.agentName} is gone`);
    }
    if (!this.deps.environmentId)
      throw new Error('no environment to run sessions in (ANTHROPIC_ENVIRONMENT_ID)');
    // The vault invariant: this person's own vault, verified to name them, and only that one. The
    // same for memory: an agent that remembers gets this person's own store, and no one else's.
    // Meanwhile the claimed start joins the index of starts the sweep finishes if this process dies.
    const [vault] = await Promise.all([
      this.deps.vaults.ensure(principal, correlationId),
      store.runIntents.indexOpen(intent.dedupeKey),
    ]);
    const memory = agent.config.memory
      ? await this.deps.memories.ensure(principal, correlationId)
      : undefined;
    const connected = new Set(
      (known.connections ?? (await store.connections.list(principalKey(principal))))
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
    // The session stops where the agent's ceiling, or what the tightest budget has left, is reached.
    const ceilingCents = leastOf(
      agent.config.spendCeilingUsd === undefined ? undefined : Math.round(agent.config.spendCeilingUsd * 100),
      known.budget.leftCents,
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
      ...(memory && agent.config.memory
        ? {
            resources: [
              {
                type: 'memory_store' as const,
                memory_store_id: memory.id,
                access: agent.config.memory,
                instructions: MEMORY_INSTRUCTIONS,
              },
            ],
          }
        : {}),
      title: `${agent.name}: ${intent.prompt.slice(0, 80)}`,
      metadata: {
        deputy_principal: principalKey(principal),
        deputy_intent: intent.intentId,
        deputy_agent: agent.name,
        slack_channel: intent.channelId,
        // The audit trail's correlation id for the session: its records are found from the session.
        deputy_correlation: intent.correlationId ?? correlationId,
        // Marked: the session was given Slack messages as context, not only its person's prompt.
        ...(intent.context ? { deputy_context: `${intent.context.kind} ${intent.context.channelId}` } : {}),
      },
      initial_events: [
        {
          type: 'user.message' as const,
          content: [
            { type: 'text' as const, text: intent.prompt },
            ...(intent.context
              ? [{ type: 'text' as const, text: contextForAgent(intent.context, principal.userId) }]
              : []),
          ],
        },
      ],
      // The ceiling in minor units as an integer string: "2500" is $25.00 (the API avoids floats).
      ...(ceilingCents !== undefined
        ? {
            budget: {
              type: 'limit' as const,
              max_list_cost: { amount: String(ceilingCents), currency: 'USD' as const },
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
      correlationId: intent.correlationId ?? correlationId,
      triggerId: intent.dedupeKey,
      details: {
        agent: agent.name,
        agentVersion: agent.agentVersion,
        vault: vault.id,
        ...(memory ? { memory: memory.id } : {}),
        channel: intent.channelId,
        ...(intent.context
          ? {
              context: `${intent.context.kind} in ${intent.context.channelId} at ${intent.context.ts}`,
              contextMessages: intent.context.messages.length,
            }
          : {}),
      },
    });
    // Each retry first renews the start's lease: one that lapsed belongs to the sweep now.
    const session = await this.createOnce(body, intent, () =>
      store.runIntents.hold(intent.dedupeKey, this.renewed(lease)),
    );
    const created = { sessionId: session.id, agentId: agent.agentId, agentVersion: agent.agentVersion };
    const details = {
      vault: vault.id,
      droppedServers: narrowed.droppedServers.join(', '),
      droppedWriteTools: narrowed.droppedWriteTools.join(', '),
    };
    let opening = false;
    const open = (opened?: (session: SessionRecord) => Promise<void>) => {
      if (opening) return;
      opening = true;
      this.openLater([intent, created, lease, correlationId, details], opened);
    };
    return { sessionId: session.id, agentName: intent.agentName, channelId: intent.channelId, open };
  }

  /**
   * `open` as tracked work, once every Slack delivery has had its answer. Not bounded by a slot: it
   * mostly waits on Slack's limits, and one conversation held by a Retry-After must not hold up the
   * others. A failure ends the start's lease, so the sweep opens the session instead.
   */
  private openLater(
    args: Parameters<SessionService['open']>,
    opened?: (session: SessionRecord) => Promise<void>,
  ): void {
    const [intent, created, lease] = args;
    void this.deps.work
      .track(async () => {
        await this.deps.acks?.passed();
        const record = await this.open(...args);
        if (record && opened)
          await opened(record).catch((error: unknown) =>
            this.deps.logger.warn('the person was not pointed at the thread', { error: String(error) }),
          );
        return record;
      })
      .catch(async (error: unknown) => {
        this.deps.logger.warn('opening a started session failed; the sweep opens it', {
          sessionId: created.sessionId,
          error: String(error),
        });
        await this.deps.store.runIntents
          .failed(intent.dedupeKey, lease.owner, this.deps.clock.now())
          .catch(() => undefined);
      });
  }

  /**
   * The rest of a start once its session exists: audited, its thread opened in the owner's DM, its
   * record written, relayed. Only while this process holds the start's lease, so a process that
   * wakes after the sweep took its start over opens nothing.
   */
  private async open(
    intent: RunIntent,
    created: { sessionId: string; agentId: string; agentVersion: number },
    lease: StartLease,
    correlationId: string,
    details: Record<string, string>,
  ): Promise<SessionRecord | undefined> {
    const { store, clock } = this.deps;
    const principal = intent.principal;
    if (!(await store.runIntents.hold(intent.dedupeKey, this.renewed(lease), created.sessionId)))
      return undefined;
    await this.deps.audit.record({
      action: AuditAction.SessionCreated,
      outcome: 'success',
      principal,
      target: created.sessionId,
      correlationId: intent.correlationId ?? correlationId,
      triggerId: intent.dedupeKey,
      details: {
        agent: intent.agentName,
        agentVersion: created.agentVersion,
        channel: intent.channelId,
        intent: intent.intentId,
        ...details,
      },
    });
    // Posting the root may wait long on Slack's limits (a Retry-After of minutes): the lease is
    // renewed meanwhile, or the sweep would take this live start for a dead one's and post twice.
    const heartbeat = clock.setInterval(
      () =>
        store.runIntents
          .hold(intent.dedupeKey, this.renewed(lease))
          .catch((error: unknown) =>
            this.deps.logger.warn('start lease not renewed', { error: String(error) }),
          ),
      START_LEASE_MS / 3,
    );
    const thread = await this.deps.notices
      .opened({
        sessionId: created.sessionId,
        principal,
        agentName: intent.agentName,
        prompt: intent.prompt,
        channelId: intent.channelId,
        status: 'running',
      })
      .finally(() => heartbeat.cancel());
    const approverGroup = (await this.deps.agents.get(intent.agentName))?.config.approverGroup;
    const record: SessionRecord = {
      sessionId: created.sessionId,
      intentId: intent.intentId,
      principal,
      principalKey: principalKey(principal),
      agentName: intent.agentName,
      agentId: created.agentId,
      agentVersion: created.agentVersion,
      channelId: intent.channelId,
      dmChannelId: thread.dmChannelId,
      threadTs: thread.threadTs,
      ...(thread.permalink ? { permalink: thread.permalink } : {}),
      prompt: intent.prompt,
      correlationId: intent.correlationId ?? correlationId,
      status: 'running',
      ...(approverGroup ? { approverGroup } : {}),
      ...(intent.context
        ? {
            context: {
              kind: intent.context.kind,
              channelId: intent.context.channelId,
              ts: intent.context.ts,
              messages: intent.context.messages.length,
            },
          }
        : {}),
      createdAt: new Date(clock.now()).toISOString(),
    };
    // Filed for the sweep (archive, then purge) with the record, in parallel: no extra round trip.
    const createdMs = Date.parse(record.createdAt);
    await Promise.all([
      store.sessions.put(record),
      store.retention.schedule(
        { kind: 'session_archive', sessionId: record.sessionId },
        createdMs + ARCHIVE_AFTER_MS,
      ),
      store.retention.schedule(
        { kind: 'session', sessionId: record.sessionId },
        createdMs + this.deps.retentionMs,
      ),
    ]);
    // A suspension or departure that landed while this start was under way found no session to
    // stop yet: asked again now (in parallel with closing the start), it stops this one at once.
    const [, refusal] = await Promise.all([
      store.runIntents.finished(intent.dedupeKey, clock.now()),
      store.standing.refusal(principal),
    ]);
    this.deps.relays.ensure(created.sessionId);
    if (refusal)
      await this.stopAllOf(principal, refusal, correlationId, async (s) => s.sessionId === record.sessionId);
    return record;
  }

  /**
   * The sweep's half of starting exactly once: a start whose process died (its lease lapsed) is
   * finished here. Its session, found by the intent id in its metadata, is opened as if the start had
   * gone on; a start that never made one is closed, and its person told if nobody told them yet.
   * Returns how many starts it settled.
   */
  async repairStarts(correlationId: string): Promise<number> {
    const { store, clock } = this.deps;
    let settled = 0;
    for (const dedupeKey of await store.runIntents.open()) {
      const intent = await store.runIntents.get(dedupeKey);
      if (!intent || intent.openedAt !== undefined) {
        await store.runIntents.unindex(dedupeKey);
        continue;
      }
      if ((intent.startUntilMs ?? 0) > clock.now()) continue;
      const lease = this.startLease();
      if (!(await store.runIntents.takeOver(dedupeKey, lease, clock.now()))) continue;
      const found = await this.findByIntent(intent);
      settled += 1;
      if (!found) {
        await store.runIntents.finished(dedupeKey, clock.now());
        if (intent.failedAtMs === undefined) await this.deps.notices.didNotStart(intent);
        continue;
      }
      if (await store.sessions.get(found.id)) {
        await store.runIntents.finished(dedupeKey, clock.now());
        continue;
      }
      const agent = 'id' in found.agent ? found.agent : undefined;
      await this.open(
        intent,
        { sessionId: found.id, agentId: agent?.id ?? '', agentVersion: agent?.version ?? 0 },
        lease,
        correlationId,
        { recovered: 'true' },
      );
    }
    return settled;
  }

  private startLease(): StartLease {
    return this.renewed({ owner: this.deps.ids.next('start'), untilMs: 0 });
  }

  private renewed(lease: StartLease): StartLease {
    return { owner: lease.owner, untilMs: this.deps.clock.now() + START_LEASE_MS };
  }

  /**
   * Creates the session, retrying 429/5xx (honouring retry-after) without ever making two: a
   * create whose outcome is unknown is looked up by its intent id before it is tried again.
   */
  private createOnce(
    body: Parameters<Anthropic['beta']['sessions']['create']>[0],
    intent: Pick<RunIntent, 'intentId' | 'recordedAtMs'>,
    stillOurs: () => Promise<boolean>,
  ) {
    return exactlyOnce(
      this.deps.clock,
      () => this.deps.anthropic.beta.sessions.create(body, { maxRetries: 0, timeout: CREATE_TIMEOUT_MS }),
      () => this.findByIntent(intent, typeof body.agent === 'string' ? body.agent : body.agent.id),
      { stillOurs },
    );
  }

  /**
   * The session a start made for this intent, if any, by the intent id in its metadata. The API's
   * filters narrow the list to sessions created since shortly before the intent was recorded (and
   * with the agent the start used, when known), so however many sessions the organisation starts,
   * the lookup reads only those: a fixed window of the newest could miss it, and a miss makes a
   * second session.
   */
  private async findByIntent(intent: Pick<RunIntent, 'intentId' | 'recordedAtMs'>, agentId?: string) {
    const since =
      intent.recordedAtMs === undefined
        ? undefined
        : new Date(intent.recordedAtMs - INTENT_LOOKUP_SKEW_MS).toISOString();
    let seen = 0;
    for await (const session of this.deps.anthropic.beta.sessions.list({
      limit: 100,
      order: 'desc',
      ...(since ? { 'created_at[gte]': since } : {}),
      ...(agentId ? { agent_id: agentId } : {}),
    })) {
      if (session.metadata?.deputy_intent === intent.intentId) return session;
      seen += 1;
      // Without a recorded time (intents from before it was kept) only the newest are read.
      if (!since && seen >= 200) break;
    }
    return undefined;
  }

  /**
   * The person's part of their Home tab: the agents they may run (from their DM with Deputy), their
   * recent sessions, and the calls waiting for their decision.
   */
  async homeOf(principal: Principal): Promise<PersonalHome> {
    const [all, sessions] = await Promise.all([
      this.deps.agents.list(),
      this.deps.store.sessions.byOwner(principalKey(principal), HOME_SESSIONS),
    ]);
    const agents: string[] = [];
    for (const agent of all) if (await this.deps.agents.mayRun(agent, principal)) agents.push(agent.name);
    const waiting = sessions.filter((s) => s.status === 'waiting');
    const approvals = await Promise.all(
      waiting.map((s) => this.deps.store.approvals.forSession(s.sessionId)),
    );
    return {
      agents,
      sessions,
      waiting: waiting.flatMap((session, i) =>
        (approvals[i] ?? []).filter((a) => a.status === 'pending').map((approval) => ({ session, approval })),
      ),
    };
  }

  /**
   * The session's tool calls with their raw results, for its own person only (what they hold is
   * theirs): the details behind its progress lines, read from the session's events (Deputy keeps no
   * copy). Anyone else is refused, and audited.
   */
  async toolResults(
    principal: Principal,
    sessionId: string,
    correlationId: string,
  ): Promise<{ kind: 'not_allowed' } | { kind: 'results'; agentName: string; calls: ToolCallDetail[] }> {
    const session = await this.deps.store.sessions.get(sessionId);
    if (!(await this.permitted(principal, session, 'read_results', sessionId, correlationId)) || !session)
      return { kind: 'not_allowed' };
    const history = await sessionHistory(this.deps.anthropic, sessionId);
    return { kind: 'results', agentName: session.agentName, calls: toolCallDetails(history) };
  }

  /** Whether the Slack thread is a session's (its DM thread, or a shared result's). */
  async ownsThread(channelId: string, threadTs: string): Promise<boolean> {
    return (await this.deps.store.sessions.byThread(channelId, threadTs)) !== undefined;
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
    if (session.archivedAt) return { kind: 'archived' };
    if (session.status === 'done') return { kind: 'ended' };
    // Managed Agents answers 400 to a message for a session at its budget: said here instead.
    const atCeiling = { kind: 'budget_reached' as const, sessionId: session.sessionId };
    if (stoppedAtCeiling(session)) return atCeiling;
    const [rate, budget] = await Promise.all([
      this.deps.limits.take(principal, 'follow_up', correlationId),
      this.deps.budgets.check(principal, session.agentName),
    ]);
    if (rate.kind === 'limited') return { kind: 'rate_limited', limited: rate };
    // A used-up budget stops follow-ups too: a session kept going must not run past it.
    if (budget.kind === 'reached')
      return this.overBudget(principal, budget, session.sessionId, correlationId);
    // A reply keeps the session live (or wakes it): it holds its slots again first, taken anew if
    // they went back when it rested (taking a slot it still holds changes nothing).
    const waking = !isLive(session);
    const slot = await this.deps.live.take(session);
    if (slot.kind === 'full')
      return { kind: 'too_many_live', scope: slot.scope, limit: slot.limit, live: slot.live };
    // A session it would have woken gives its slots back when the reply goes no further.
    const giveBack = async () => {
      if (waking) await this.deps.live.release(session).catch(() => undefined);
    };
    try {
      // The reply may spend only what the budgets leave now: a ceiling set higher at the start is
      // lowered first (one that cannot be, since it spent past it already, stops here).
      if (budget.leftCents !== undefined && !(await this.capToBudget(session, budget.leftCents))) {
        await giveBack();
        return atCeiling;
      }
      // Recorded before it is sent: no message reaches the agent unaudited (security R46). The
      // record has the text's digest and length, not the text.
      await this.deps.audit.record({
        action: AuditAction.SessionFollowUp,
        outcome: 'success',
        principal,
        target: session.sessionId,
        correlationId,
        details: { channel: reply.channelId, length: text.length, text: fingerprint(text) },
      });
    } catch (error) {
      await giveBack();
      throw error;
    }
    // Marks where the session's messages stood, so a send whose answer is lost is found, not repeated.
    const before = await newestUserMessage(this.deps.anthropic, session.sessionId);
    try {
      await sendReconciled(
        this.deps,
        session.sessionId,
        [{ type: 'user.message', content: [{ type: 'text', text }] }],
        (history) => userMessageAfter(history, before, text),
      );
    } catch (error) {
      if (!(error instanceof Anthropic.BadRequestError)) throw error;
      // Refused, so not delivered: a session it would have woken gives its slots back.
      await giveBack();
      // The session refused it, and the record may lag: archived meanwhile, ended, or a raised
      // ceiling spent again. Answered from the record as it is now.
      const now = await this.deps.store.sessions.get(session.sessionId);
      if (now?.archivedAt) return { kind: 'archived' };
      if (now?.status === 'done') return { kind: 'ended' };
      if (now?.lastStop === 'budget_reached') return atCeiling;
      throw error;
    }
    this.deps.relays.ensure(session.sessionId);
    return { kind: 'sent' };
  }

  /**
   * Lowers the session's ceiling to what it has spent and `leftCents` more, where it is higher (a
   * session started when the budgets left more). A session started without a ceiling gets none
   * (Managed Agents adds none afterwards): each reply is still checked against the budgets. False
   * when the session spent past that already.
   */
  private async capToBudget(session: SessionRecord, leftCents: number): Promise<boolean> {
    const spent = session.usage?.countedCents ?? Number(session.listCost?.amount ?? 0);
    const cap = { amount: String(spent + leftCents), currency: 'USD' as const };
    if (!session.ceiling || BigInt(session.ceiling.amount) <= BigInt(cap.amount)) return true;
    try {
      await this.deps.anthropic.beta.sessions.update(session.sessionId, {
        budget: { type: 'limit', max_list_cost: cap },
      });
    } catch (error) {
      if (error instanceof Anthropic.BadRequestError && error.errorCode === 'budget_not_raised') return false;
      throw error;
    }
    await this.deps.store.sessions.update(session.sessionId, { ceiling: cap });
    return true;
  }

  /**
   * Managed Agents says the session moved (a webhook): it started running, paused or ended, maybe
   * on nobody's action here. Its relay goes on from the cursor. False for a session not Deputy's.
   */
  async woken(sessionId: string): Promise<boolean> {
    const session = await this.deps.store.sessions.get(sessionId);
    if (!session || session.archivedAt) return false;
    this.deps.relays.ensure(sessionId);
    return true;
  }

  /**
   * The sweep's archive of a session that has rested `ARCHIVE_AFTER_MS` since its last turn (one
   * that ended, at once): archived at Anthropic, then marked on its record, audited, and its root
   * message saying so. One in use, or used since it was filed, is due again later.
   */
  async archiveRested(sessionId: string, correlationId: string): Promise<ArchiveOutcome> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const session = await store.sessions.get(sessionId);
    if (!session || session.archivedAt) return { kind: 'nothing' };
    if (session.status === 'running' || session.status === 'waiting')
      return { kind: 'later', dueMs: now + ARCHIVE_AFTER_MS };
    const dueMs =
      session.status === 'done'
        ? now
        : Date.parse(session.finishedAt ?? session.createdAt) + ARCHIVE_AFTER_MS;
    if (dueMs > now) return { kind: 'later', dueMs };
    try {
      // Archiving twice is harmless (an archived session stays as it is): retries do no harm.
      await this.deps.anthropic.beta.sessions.archive(sessionId);
    } catch (error) {
      // Still running there (its status lags the stream): later. Gone there: nothing to archive.
      if (error instanceof Anthropic.BadRequestError) return { kind: 'later', dueMs: now + ARCHIVE_RETRY_MS };
      if (!(error instanceof Anthropic.NotFoundError)) throw error;
    }
    // Archiving twice at Anthropic is harmless; the mark decides which sweep tells and audits it.
    if (!(await store.sessions.claimArchive(sessionId, now))) return { kind: 'nothing' };
    const archived = { ...session, archivedAt: new Date(now).toISOString() };
    await this.deps.audit.record({
      action: AuditAction.SessionArchived,
      outcome: 'success',
      principal: session.principal,
      target: sessionId,
      correlationId,
    });
    await this.showStatus(archived);
    return { kind: 'archived' };
  }

  /**
   * An admin raises a session's spend ceiling (`/agent budget`): the session's budget at Managed
   * Agents is replaced, its record and root message follow, and its owner is told in the thread that
   * a reply goes on from there. Audited before the change, by the admin.
   */
  async raiseCeiling(
    admin: Principal,
    sessionId: string,
    usd: number,
    correlationId: string,
  ): Promise<RaiseCeilingOutcome> {
    const { store, clock } = this.deps;
    if (
      !(await this.deps.access.authorize(admin, '/agent budget', correlationId)) ||
      (await store.standing.refusal(admin))
    )
      return { kind: 'not_admin' };
    const session = await store.sessions.get(sessionId);
    // Only the admin's own workspace's sessions (on Enterprise Grid too: not the org's other ones).
    if (!session || !sameWorkspace(session.principal, admin)) return { kind: 'no_session' };
    const ceiling = { amount: String(Math.round(usd * 100)), currency: 'USD' as const };
    const details = {
      owner: session.principalKey,
      ceiling: ceiling.amount,
      ...(session.ceiling ? { previous: session.ceiling.amount } : {}),
    };
    const refused = async (outcome: Exclude<RaiseCeilingOutcome, { kind: 'raised' | 'not_admin' }>) => {
      await this.deps.audit.record({
        action: AuditAction.SessionCeilingRaised,
        outcome: 'refused',
        principal: admin,
        target: sessionId,
        correlationId,
        details: { ...details, reason: outcome.kind },
      });
      return outcome;
    };
    if (session.status === 'done' || session.archivedAt) return refused({ kind: 'ended' });
    // Managed Agents only replaces a budget a session was created with.
    if (!session.ceiling) return refused({ kind: 'no_ceiling' });
    // A raise never lowers: above what was spent, and above the ceiling it has.
    const above = (floor: Money | undefined) => !floor || BigInt(ceiling.amount) > BigInt(floor.amount);
    if (!above(session.listCost) || !above(session.ceiling))
      return refused({
        kind: 'not_raised',
        ...(session.listCost ? { spent: session.listCost } : {}),
        ...(session.ceiling ? { current: session.ceiling } : {}),
      });
    // On the record before it takes effect (security R46); a raise Managed Agents then refuses is
    // recorded again, refused, so the trail never shows a raise that did not happen as standing.
    await this.deps.audit.record({
      action: AuditAction.SessionCeilingRaised,
      outcome: 'success',
      principal: admin,
      target: sessionId,
      correlationId,
      details,
    });
    try {
      // Setting the same budget twice leaves it as it is: the SDK's retries cannot do harm here.
      await this.deps.anthropic.beta.sessions.update(sessionId, {
        budget: { type: 'limit', max_list_cost: ceiling },
      });
    } catch (error) {
      if (error instanceof Anthropic.BadRequestError) {
        if (error.errorCode === 'budget_not_raised')
          return refused({ kind: 'not_raised', ...(session.listCost ? { spent: session.listCost } : {}) });
        if (error.errorCode === 'budget_create_only') return refused({ kind: 'no_ceiling' });
      }
      if (error instanceof Anthropic.NotFoundError || error instanceof Anthropic.BadRequestError)
        return refused({ kind: 'ended' });
      await this.deps.audit
        .record({
          action: AuditAction.SessionCeilingRaised,
          outcome: 'failure',
          principal: admin,
          target: sessionId,
          correlationId,
          details: { ...details, reason: 'not_answered' },
        })
        .catch(() => undefined);
      throw error;
    }
    const wasStopped = stoppedAtCeiling(session);
    const raised = { ...session, ceiling, ceilingRaisedAt: new Date(clock.now()).toISOString() };
    await store.sessions.update(sessionId, { ceiling, ceilingRaisedAt: raised.ceilingRaisedAt });
    // The change is an event in the session (`session.updated`): relayed, so its cursor stays current.
    this.deps.relays.ensure(sessionId);
    await this.deps.notices.ceilingRaised(raised, admin, wasStopped);
    await this.showStatus(raised);
    return { kind: 'raised', session: raised, ceiling };
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
    return (await this.interrupt(principal, sessionId, correlationId)) ? 'done' : 'already';
  }

  /**
   * Stop from the list of live sessions a run refused at the limit showed (issue 19): that list is a
   * private message to the person, not the session's own root, so the click is taken from any
   * message, but only from someone who may stop the session.
   */
  async stopListed(principal: Principal, sessionId: string, correlationId: string): Promise<ControlOutcome> {
    const session = await this.deps.store.sessions.get(sessionId);
    if (!(await this.permitted(principal, session, 'stop', sessionId, correlationId))) return 'not_allowed';
    if (!session || !isLive(session)) return 'not_running';
    return (await this.interrupt(principal, sessionId, correlationId)) ? 'done' : 'already';
  }

  /**
   * Interrupts the session's current turn once: Stop claimed for the turn, audited, one
   * `user.interrupt` (given back if it cannot be sent). False when a Stop was taken already.
   */
  private async interrupt(
    principal: Principal,
    sessionId: string,
    correlationId: string,
    reason?: string,
  ): Promise<boolean> {
    if (!(await this.deps.store.sessions.claimStop(sessionId, this.deps.clock.now()))) return false;
    try {
      // Not audited, not sent, and the claim given back, so a later Stop may go (security R46).
      await this.deps.audit.record({
        action: AuditAction.SessionStopped,
        outcome: 'success',
        principal,
        target: sessionId,
        correlationId,
        ...(reason ? { details: { reason } } : {}),
      });
      await sendReconciled(this.deps, sessionId, [{ type: 'user.interrupt' }], interruptedThisTurn);
    } catch (error) {
      await this.deps.store.sessions.releaseStop(sessionId);
      throw error;
    }
    // A session waiting for a decision holds no relay: the stop's events must be relayed.
    this.deps.relays.ensure(sessionId);
    return true;
  }

  /**
   * Every live session of the person interrupted, because Deputy no longer acts for them (they left,
   * or an admin revoked them): not a click, so no steering check, and audited with the reason. Their
   * open approvals close as the relays see the sessions stop. Returns how many were interrupted.
   */
  async stopAllOf(
    principal: Principal,
    reason: string,
    correlationId: string,
    only: (session: SessionRecord) => Promise<boolean> = async () => true,
  ): Promise<number> {
    let stopped = 0;
    for (const session of await this.deps.store.sessions.byOwner(principalKey(principal), 100)) {
      if (session.status !== 'running' && session.status !== 'waiting') continue;
      if (!(await only(session))) continue;
      if (!(await this.interrupt(principal, session.sessionId, correlationId, reason))) continue;
      stopped += 1;
    }
    return stopped;
  }

  /** The person's live sessions whose agent uses the connector, stopped: they disconnected it. */
  stopUsing(principal: Principal, connectorId: string, correlationId: string): Promise<number> {
    return this.stopAllOf(principal, 'disconnected', correlationId, async (session) => {
      const agent = await this.deps.agents.get(session.agentName);
      // An agent that is gone cannot say which servers it used: stop the session to be safe.
      return !agent || agent.config.servers.some((server) => server.connectorId === connectorId);
    });
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
  ): Promise<ShareOutcome> {
    const session = await this.deps.store.sessions.get(sessionId);
    const refused = await this.refusal(principal, session, 'share', sessionId, correlationId, clickedOn);
    if (refused || !session) return refused ?? 'not_allowed';
    if (session.status === 'running' || session.status === 'waiting') return 'not_running';
    // Claimed before posting: two clicks (or a retried delivery) post once. A post that then fails is
    // not retried, as a post whose answer was lost may already be in the channel.
    if (!(await this.deps.store.sessions.claimShare(sessionId, this.deps.clock.now()))) return 'already';
    try {
      // Not audited, not posted, and the claim given back, so a later Share may go (security R46).
      await this.deps.audit.record({
        action: AuditAction.SessionShared,
        outcome: 'success',
        principal,
        target: sessionId,
        correlationId,
        details: { channel: session.channelId },
      });
    } catch (error) {
      await this.deps.store.sessions.releaseShare(sessionId);
      throw error;
    }
    const post = await this.deps.notices.shared(session, session.resultText ?? '(no text)');
    if (post.kind === 'refused') {
      // Slack took nothing: the Share is given back, so it can be pressed again once Deputy may post.
      await this.deps.store.sessions.releaseShare(sessionId);
      await this.deps.audit.record({
        action: AuditAction.SessionShared,
        outcome: 'refused',
        principal,
        target: sessionId,
        correlationId,
        details: { channel: session.channelId, reason: post.reason },
      });
      return post.reason;
    }
    const sharedTs = post.ts;
    if (sharedTs) {
      await this.deps.store.sessions.update(session.sessionId, { sharedTs });
      // Replies in the shared result's thread reach this session too (and are refused unless its own).
      await this.deps.store.sessions.indexThread(session.channelId, sharedTs, session.sessionId);
      await this.showStatus({ ...session, sharedTs });
    }
    return {
      kind: 'shared',
      channelId: session.channelId,
      ...(post.permalink ? { permalink: post.permalink } : {}),
    };
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

  /** The root message edited to show the session as it is now; best effort (its change stands). */
  private async showStatus(session: SessionRecord): Promise<void> {
    await this.deps.notices
      .statusChanged(session)
      .catch((error: unknown) => this.deps.logger.warn('root message not updated', { error: String(error) }));
  }

  private async missingConnections(connections: Connection[], connectorIds: string[]): Promise<Connector[]> {
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
