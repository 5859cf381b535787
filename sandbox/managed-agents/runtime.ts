import type { BetaManagedAgentsAgentToolEvaluation } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import { mcpToolPermission, type ToolPermission } from './agent-config.js';
import type { EventFields, StoredEvent } from './event-log.js';
import type { McpFailure, McpGateway, ToolResultBlock } from './mcp-gateway.js';
import type { AgentScript, AgentTool, AgentTurn, ToolCallOutcome } from './script.js';
import type { EmulatorState, SessionRecord } from './store.js';

/** Thrown inside a turn that a `user.interrupt` (or the session's end) cut short. */
export class TurnInterrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** Thrown by `AgentTurn.decline`: the model declined, and the turn ends with `refusal`. */
class TurnDeclined extends Error {
  constructor() {
    super('declined');
  }
}

export interface ToolDecision {
  result: 'allow' | 'deny';
  deny_message?: string | null;
}

interface PendingConfirmation {
  decision?: ToolDecision;
  resolve(decision: ToolDecision): void;
  reject(error: Error): void;
}

type StopReason =
  | { type: 'end_turn' }
  | { type: 'retries_exhausted' }
  | { type: 'budget_reached' }
  | { type: 'refusal' }
  | { type: 'requires_action'; event_ids: string[] };

/**
 * The platform's judgement of a call to a tool on the `auto` policy: allow it, deny it as high-risk,
 * or put it to the user (ask). Tests script it; the default reads the tool's annotations.
 */
export type AutoJudge = (tool: AgentTool, input: Record<string, unknown>) => 'allow' | 'ask' | 'deny';

/** The emulator's stand-in for the judgement: reads pass, destructive calls are refused, the rest asked. */
export const annotationJudge: AutoJudge = (tool) =>
  tool.annotations?.readOnlyHint ? 'allow' : tool.annotations?.destructiveHint ? 'deny' : 'ask';

export interface RunnerDeps {
  state: EmulatorState;
  gateway: McpGateway;
  /** Read at each turn, so a test can swap the script between turns. */
  script(): AgentScript;
  /** Read at each call, so a test can script the `auto` policy's judgement. */
  judge(): AutoJudge;
}

const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/**
 * Runs one session's agent: queues user messages and plays them one turn at a time through the
 * AgentScript, emitting what the platform emits. Owns the session's status (`idle` ⇄ `running`),
 * the model-request spans, and the set of tool calls awaiting the user's confirmation.
 */
export class SessionRunner {
  private readonly queue: StoredEvent[] = [];
  private busy = false;
  private stopped = false;
  private currentTurn: AbortController | null = null;
  private readonly pending = new Map<string, PendingConfirmation>();
  /** Whether `requires_action` has been announced for the current pending set. */
  private announced = false;
  private openSpan: { id: string; input: number; output: number } | null = null;
  private runningSince: number | null = null;
  private settleWaiters: Array<() => void> = [];

  constructor(
    private readonly record: SessionRecord,
    private readonly deps: RunnerDeps,
  ) {}

  /** A `user.message` (already in the log with `processed_at: null`) to play in its turn. */
  enqueueMessage(event: StoredEvent): void {
    if (this.stopped) return;
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    // Processing is asynchronous, as on the platform: the HTTP response goes out first.
    setImmediate(() => void this.drain());
  }

  /** Whether `toolUseId` is a tool call awaiting a confirmation that has not been given yet. */
  awaitsConfirmation(toolUseId: string): boolean {
    const pending = this.pending.get(toolUseId);
    return pending !== undefined && pending.decision === undefined;
  }

  hasPendingConfirmations(): boolean {
    return this.undecided().length > 0;
  }

  /**
   * Records a user's decision. While others are still undecided the session stays idle and
   * re-announces the remainder; once all are decided it runs again and releases them together.
   */
  confirm(toolUseId: string, decision: ToolDecision): void {
    const pending = this.pending.get(toolUseId);
    if (!pending || pending.decision) return;
    pending.decision = decision;
    const undecided = this.undecided();
    if (undecided.length > 0) {
      if (this.announced) this.idle({ type: 'requires_action', event_ids: undecided });
      return;
    }
    const released = [...this.pending.values()];
    this.pending.clear();
    this.announced = false;
    this.setRunning();
    for (const p of released) p.resolve(p.decision ?? { result: 'deny' });
  }

  /** `user.interrupt`: drops queued messages and cuts the current turn short. */
  interrupt(): void {
    for (const dropped of this.queue.splice(0)) this.record.log.markProcessed(dropped.id);
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.announced = false;
    this.currentTurn?.abort(new TurnInterrupted());
    for (const p of pending) p.reject(new TurnInterrupted());
  }

  /** The session is deleted or terminated: stop for good, silently. */
  stop(): void {
    this.stopped = true;
    this.interrupt();
    this.notifySettled();
  }

  /** Resolves once the session waits on nobody but the user: idle, or paused for approval. */
  settled(): Promise<void> {
    if (this.isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  private isSettled(): boolean {
    return this.stopped || !this.busy || (this.announced && this.hasPendingConfirmations());
  }

  private notifySettled(): void {
    if (!this.isSettled()) return;
    const waiters = this.settleWaiters;
    this.settleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const message = this.queue.shift();
      if (message) await this.runTurn(message);
    }
    this.busy = false;
    this.notifySettled();
  }

  private async runTurn(message: StoredEvent): Promise<void> {
    const abort = new AbortController();
    this.currentTurn = abort;
    // The message is picked up, then the session runs: its turn follows it in processed_at order.
    this.record.log.markProcessed(message.id);
    this.setRunning();
    let stopReason: StopReason = { type: 'end_turn' };
    try {
      await this.deps.script().respond(new ScriptedTurn(this, this.deps, this.record, message, abort.signal));
    } catch (error) {
      if (error instanceof TurnDeclined) stopReason = { type: 'refusal' };
      else if (!abort.signal.aborted) {
        // A script bug surfaces the way a platform failure would: an error that ends the turn.
        this.emit({
          type: 'session.error',
          error: {
            type: 'unknown_error',
            message: error instanceof Error ? error.message : String(error),
            retry_status: { type: 'exhausted' },
          },
        });
        stopReason = { type: 'retries_exhausted' };
      }
    } finally {
      this.currentTurn = null;
    }
    if (this.stopped) return;
    this.endSpan();
    // The spend ceiling: a turn that takes the session's list cost to it stops there.
    if (stopReason.type === 'end_turn' && budgetReached(this.record)) stopReason = { type: 'budget_reached' };
    this.idle(stopReason);
  }

  emit(fields: EventFields): StoredEvent {
    return this.record.log.append(fields);
  }

  /** Opens a model-request span if none is open: the agent is producing output. */
  startSpan(inputText: string): void {
    if (this.openSpan) return;
    // The platform's periodic snapshot of what the session has used and cost, with its budget: as
    // strict as the real one can be, it comes before a request and never says what the last cost.
    const usage = this.record.value.usage;
    if (usage.list_cost)
      this.emit({ type: 'session.usage', usage: structuredClone(usage), budget: this.record.value.budget });
    const start = this.emit({ type: 'span.model_request_start' });
    this.openSpan = { id: start.id, input: estimateTokens(inputText) + 50, output: 0 };
  }

  countOutput(text: string): void {
    if (this.openSpan) this.openSpan.output += estimateTokens(text);
  }

  endSpan(): void {
    const span = this.openSpan;
    if (!span) return;
    this.openSpan = null;
    this.emit({
      type: 'span.model_request_end',
      model_request_start_id: span.id,
      is_error: false,
      model_usage: {
        input_tokens: span.input,
        output_tokens: span.output,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
    const usage = this.record.value.usage;
    usage.input_tokens = (usage.input_tokens ?? 0) + span.input;
    usage.output_tokens = (usage.output_tokens ?? 0) + span.output;
    // Minor units as an integer string, as the API gives `list_cost` (the session's GET says it).
    usage.list_cost = { amount: String(Math.ceil(listCostCents(this.record))), currency: 'USD' };
  }

  sessionError(serverName: string, failure: McpFailure): void {
    this.emit({
      type: 'session.error',
      error: {
        type: failure.type,
        mcp_server_name: serverName,
        message: failure.message,
        retry_status: { type: 'exhausted' },
      },
    });
  }

  awaitConfirmation(toolUseId: string, signal: AbortSignal): Promise<ToolDecision> {
    return new Promise((resolve, reject) => {
      this.pending.set(toolUseId, { resolve, reject });
      signal.addEventListener('abort', () => reject(new TurnInterrupted()), { once: true });
      // Announce after the current synchronous step, so calls made together pause together.
      queueMicrotask(() => this.announcePending());
    });
  }

  private announcePending(): void {
    const undecided = this.undecided();
    if (this.announced || undecided.length === 0) return;
    this.announced = true;
    this.endSpan();
    this.idle({ type: 'requires_action', event_ids: undecided });
    this.notifySettled();
  }

  private undecided(): string[] {
    return [...this.pending.entries()].filter(([, p]) => !p.decision).map(([id]) => id);
  }

  private setRunning(): void {
    if (this.record.value.status === 'running') return;
    this.emit({ type: 'session.status_running' });
    this.runningSince = this.deps.state.clock.now();
    this.setStatus('running');
  }

  private idle(stopReason: StopReason): void {
    this.emit({ type: 'session.status_idle', stop_reason: stopReason, stop_details: null });
    if (this.runningSince !== null) {
      const seconds = (this.deps.state.clock.now() - this.runningSince) / 1000;
      const stats = this.record.value.stats;
      stats.active_seconds = (stats.active_seconds ?? 0) + seconds;
      this.record.value.usage.active_seconds = stats.active_seconds;
      this.runningSince = null;
    }
    this.setStatus('idle');
  }

  private setStatus(status: 'idle' | 'running'): void {
    this.record.value.status = status;
    this.record.value.updated_at = this.deps.state.now();
  }
}

/** What the platform decides before an MCP tool runs. */
function evaluatePermission(
  permission: ToolPermission,
  tool: AgentTool,
  input: Record<string, unknown>,
  judge: AutoJudge,
): { evaluated: 'allow' | 'ask' | 'deny'; evaluation?: BetaManagedAgentsAgentToolEvaluation } {
  if (!permission.enabled) return { evaluated: 'deny' };
  switch (permission.policy.type) {
    case 'always_allow':
      return { evaluated: 'allow', evaluation: { type: 'always_allow' } };
    case 'always_ask':
      return { evaluated: 'ask', evaluation: { type: 'always_ask' } };
    case 'auto':
      switch (judge(tool, input)) {
        case 'allow':
          return {
            evaluated: 'allow',
            evaluation: { type: 'auto', evaluated_permission: { type: 'allow' } },
          };
        case 'deny':
          return {
            evaluated: 'deny',
            evaluation: { type: 'auto', evaluated_permission: { type: 'deny', reason_code: 'high_risk' } },
          };
        case 'ask':
          return {
            evaluated: 'ask',
            evaluation: { type: 'auto', evaluated_permission: { type: 'ask', reason_code: 'indeterminate' } },
          };
      }
  }
}

const textOf = (content: readonly ToolResultBlock[]): string =>
  content
    .filter((b): b is { type: 'text'; text: string } => b.type === 'text')
    .map((b) => b.text)
    .join('\n');

/** The AgentTurn a script sees: its actions become session events. */
class ScriptedTurn implements AgentTurn {
  readonly prompt: string;
  private discovered: Promise<AgentTool[]> | null = null;

  constructor(
    private readonly runner: SessionRunner,
    private readonly deps: RunnerDeps,
    private readonly record: SessionRecord,
    message: StoredEvent,
    readonly signal: AbortSignal,
  ) {
    const blocks = Array.isArray(message.content)
      ? (message.content as { type: string; text?: string }[])
      : [];
    // What the person asked; a block of material given with it (a <slack_context> block, say) is
    // read as such, as a model would, not as part of the request.
    this.prompt = blocks
      .filter((b) => b.type === 'text' && !/^\s*<[a-z_]+[\s>]/.test(b.text ?? ''))
      .map((b) => b.text ?? '')
      .join('\n');
  }

  get session(): AgentTurn['session'] {
    const { id, metadata, vault_ids, agent } = this.record.value;
    return { id, metadata, vault_ids, agent };
  }

  say(text: string): void {
    this.throwIfInterrupted();
    this.runner.startSpan(this.prompt);
    this.runner.emit({ type: 'agent.message', content: [{ type: 'text', text }] });
    this.runner.countOutput(text);
  }

  stumble(): void {
    this.throwIfInterrupted();
    this.runner.emit({
      type: 'session.error',
      error: {
        type: 'model_overloaded_error',
        message: 'The model is overloaded; retrying.',
        retry_status: { type: 'retrying' },
      },
    });
  }

  decline(): never {
    this.throwIfInterrupted();
    throw new TurnDeclined();
  }

  tools(): Promise<readonly AgentTool[]> {
    this.discovered ??= this.discoverTools();
    return this.discovered;
  }

  private async discoverTools(): Promise<AgentTool[]> {
    const { agent, vault_ids } = this.record.value;
    const tools: AgentTool[] = [];
    for (const server of agent.mcp_servers) {
      const listed = await this.deps.gateway.listTools(vault_ids, server, this.signal);
      this.throwIfInterrupted();
      if (!listed.ok) {
        this.runner.sessionError(server.name, listed.failure);
        continue;
      }
      for (const tool of listed.value) {
        if (!mcpToolPermission(agent.tools, server.name, tool.name).enabled) continue;
        tools.push({
          serverName: server.name,
          name: tool.name,
          inputSchema: tool.inputSchema,
          ...(tool.description !== undefined ? { description: tool.description } : {}),
          ...(tool.annotations !== undefined ? { annotations: tool.annotations } : {}),
        });
      }
    }
    return tools;
  }

  async callTool(tool: AgentTool, input: Record<string, unknown>): Promise<ToolCallOutcome> {
    this.throwIfInterrupted();
    const { agent, vault_ids } = this.record.value;
    const server = agent.mcp_servers.find((s) => s.name === tool.serverName);
    if (!server) throw new Error(`the agent has no MCP server named "${tool.serverName}"`);
    const permission = mcpToolPermission(agent.tools, tool.serverName, tool.name);
    const { evaluated, evaluation } = evaluatePermission(permission, tool, input, this.deps.judge());

    this.runner.startSpan(this.prompt);
    const use = this.runner.emit({
      type: 'agent.mcp_tool_use',
      name: tool.name,
      mcp_server_name: tool.serverName,
      input,
      evaluated_permission: evaluated,
      ...(evaluation ? { evaluation } : {}),
    });

    if (evaluated === 'deny') {
      this.runner.endSpan();
      const reason = permission.enabled
        ? 'The permission policy denied this tool call.'
        : 'This tool is not enabled.';
      return this.finish(use.id, 'denied', [{ type: 'text', text: reason }], true);
    }
    if (evaluated === 'ask') {
      const decision = await this.runner.awaitConfirmation(use.id, this.signal);
      if (decision.result === 'deny') {
        const reason = decision.deny_message || 'The user denied this tool call.';
        return this.finish(use.id, 'denied', [{ type: 'text', text: reason }], true);
      }
    } else {
      this.runner.endSpan();
    }

    const result = await this.deps.gateway.callTool(vault_ids, server, tool.name, input, this.signal);
    this.throwIfInterrupted();
    if (!result.ok) {
      this.runner.sessionError(server.name, result.failure);
      return this.finish(use.id, 'failed', [{ type: 'text', text: result.failure.message }], true);
    }
    const { content, isError } = result.value;
    return this.finish(use.id, isError ? 'tool_error' : 'ok', content, isError);
  }

  private finish(
    toolUseId: string,
    status: ToolCallOutcome['status'],
    content: ToolResultBlock[],
    isError: boolean,
  ): ToolCallOutcome {
    this.runner.emit({
      type: 'agent.mcp_tool_result',
      mcp_tool_use_id: toolUseId,
      content,
      is_error: isError,
    });
    return { status, content, text: textOf(content) };
  }

  private throwIfInterrupted(): void {
    if (this.signal.aborted) throw new TurnInterrupted();
  }
}

/**
 * List prices the emulator charges, in US cents per token (a Sonnet-class model: $3 per million
 * input tokens, $15 per million output tokens).
 */
const CENTS_PER_INPUT_TOKEN = 3 / 10_000;
const CENTS_PER_OUTPUT_TOKEN = 15 / 10_000;

/** What the session has cost at list price so far, in cents. */
export function listCostCents(record: SessionRecord): number {
  const usage = record.value.usage;
  return (
    (usage.input_tokens ?? 0) * CENTS_PER_INPUT_TOKEN + (usage.output_tokens ?? 0) * CENTS_PER_OUTPUT_TOKEN
  );
}

/** Whether the session's spend has reached its budget (`max_list_cost`, in minor units), if it has one. */
export function budgetReached(record: SessionRecord): boolean {
  const budget = record.value.budget;
  return budget ? listCostCents(record) >= Number(budget.max_list_cost.amount) : false;
}
