import type Anthropic from '@anthropic-ai/sdk';
import type { Clock, Timer } from '../clock.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { redactText } from '../redact.js';
import type { SessionRecord, SessionStatus, Store } from '../store/index.js';
import type { Work } from '../work.js';
import type { ApprovalService } from './approvals.js';
import {
  atRest,
  heldToolCalls,
  interruptedThisTurn,
  isSessionEvent,
  lastStatus,
  messageText,
  type SessionEvent,
  sessionHistory,
} from './events.js';
import type { SessionNotices } from './notices.js';

/** How long a relay's lease lasts without renewal; another process may take over after that. */
const LEASE_MS = 30_000;
/**
 * Progress lines are gathered and written at most this often per session; across sessions the
 * outbox keeps edits within Slack's tier for chat.update, a newer edit replacing one not yet sent.
 */
const PROGRESS_FLUSH_MS = 1000;

export interface RelayDeps {
  store: Store;
  anthropic: Anthropic;
  notices: SessionNotices;
  approvals: ApprovalService;
  connections: ConnectionsService;
  clock: Clock;
  work: Work;
  ids: IdSource;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Runs one relay per session in this process, and lets a stop wait for them. Which process relays a
 * session is decided by a lease in the store, so replicas can run side by side.
 */
export class RelayManager {
  private readonly running = new Map<
    string,
    { done: Promise<void>; stop: AbortController; again: boolean }
  >();
  private closed = false;
  /**
   * Sessions another process holds the lease of, with the one try booked for when it may have
   * lapsed. A sweep that finds one again tries at once (the lease may have been handed over) and
   * replaces the booking: one booking per session, so tries never pile up.
   */
  private readonly retries = new Map<string, Timer>();

  constructor(private readonly deps: RelayDeps) {}

  /**
   * Starts relaying the session here unless this process already is; if it is, the running relay
   * goes round once more when it ends (a follow-up or a decision starts a turn it must see).
   */
  ensure(sessionId: string): void {
    if (this.closed) return;
    this.retries.get(sessionId)?.cancel();
    this.retries.delete(sessionId);
    const current = this.running.get(sessionId);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { stop: new AbortController(), again: false, done: Promise.resolve() };
    this.running.set(sessionId, entry);
    entry.done = this.deps.work.track(async () => {
      try {
        const outcome = await new SessionRelay(this.deps, sessionId, entry.stop.signal).run();
        // Another process holds the lease (or a dead one did): try again once it may have lapsed.
        if (outcome === 'lease_held')
          this.retries.set(
            sessionId,
            this.deps.clock.setTimeout(() => {
              this.retries.delete(sessionId);
              this.ensure(sessionId);
            }, LEASE_MS),
          );
      } catch (error) {
        this.deps.logger.error('relay failed', { sessionId, error: String(error) });
      } finally {
        this.running.delete(sessionId);
        if (entry.again && !entry.stop.signal.aborted) this.ensure(sessionId);
      }
    });
  }

  /**
   * Picks up every active session this process is not relaying: at start, those a stopped process
   * left; periodically, those whose relay another replica released when it shut down (the lease
   * decides who relays each).
   */
  async resumeActive(): Promise<number> {
    const active = await this.deps.store.sessions.active();
    const adopted = active.filter((sessionId) => !this.running.has(sessionId));
    for (const sessionId of adopted) this.ensure(sessionId);
    return adopted.length;
  }

  /** Whether this process is relaying the session now. */
  isRelaying(sessionId: string): boolean {
    return this.running.has(sessionId);
  }

  /** Stops every relay for good (their leases are released; another process resumes from the cursor). */
  async close(): Promise<void> {
    this.closed = true;
    for (const retry of this.retries.values()) retry.cancel();
    this.retries.clear();
    for (const relay of this.running.values()) relay.stop.abort();
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }
}

/**
 * Relays one session's events into its Slack thread: history first (after the stored cursor), then
 * the live stream, each event once, the cursor saved after each. Ends when the turn ends; approvals,
 * follow-ups and restarts start it again.
 */
/** How much of an answer the session record keeps for Share (Slack's limit on a message's text). */
const RESULT_TEXT_MAX = 40_000;

class SessionRelay {
  private readonly owner: string;
  /** Every event seen so far, history then stream: held tool calls are read from it. */
  private readonly events: SessionEvent[] = [];
  /** User events sent and not yet processed (a follow-up queued while the agent works). */
  private readonly queued = new Set<string>();
  private progress: string[] = [];
  /** How many of the progress lines Slack has been handed: a flush with nothing new sends nothing. */
  private progressSent = 0;
  private progressTs: string | undefined;
  private flushTimer: Timer | undefined;
  /** Whether a `session.usage` snapshot came (its cost is then on the record already). */
  private sawUsage = false;

  constructor(
    private readonly deps: RelayDeps,
    private readonly sessionId: string,
    private readonly signal: AbortSignal,
  ) {
    this.owner = deps.ids.next('relay');
  }

  async run(): Promise<'ended' | 'lease_held'> {
    const { store, clock } = this.deps;
    const lease = `relay#${this.sessionId}`;
    if (!(await store.leases.acquire(lease, this.owner, clock.now(), LEASE_MS))) return 'lease_held';
    // Stops on the manager's signal, or when the lease could not be renewed (someone else may relay now).
    const stop = new AbortController();
    this.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const renew = clock.setInterval(async () => {
      const held = await store.leases.acquire(lease, this.owner, clock.now(), LEASE_MS).catch(() => false);
      if (!held) stop.abort();
    }, LEASE_MS / 3);
    let stream: Awaited<ReturnType<Anthropic['beta']['sessions']['events']['stream']>> | undefined;
    try {
      // Open the stream first, then read the history: nothing falls between the two.
      stream = await this.deps.anthropic.beta.sessions.events.stream(
        this.sessionId,
        {},
        { signal: stop.signal },
      );
      let session = await store.sessions.get(this.sessionId);
      // Purged (forgotten, or past retention): nothing is left to relay, and nobody should adopt it.
      if (!session) {
        await store.sessions.unmarkActive(this.sessionId);
        return 'ended';
      }
      const seen = new Set<string>();
      const history = await sessionHistory(this.deps.anthropic, this.sessionId);
      const resumeAt = session.cursor ? history.findIndex((e) => e.id === session?.cursor) : -1;
      // All of the history is relayed, even past a turn that ended in it: later turns follow it.
      let ended = false;
      for (const [index, event] of history.entries()) {
        seen.add(event.id);
        this.track(event);
        if (index <= resumeAt) continue;
        const result = await this.handle(session, event);
        session = result.session;
        ended = result.ended;
      }
      // Nothing has happened since the last turn ended and no follow-up waits in the queue.
      if (this.restsAfter(ended || atRest(lastStatus(history)))) return 'ended';
      // Waiting for the session's next event is waiting on the outside world, not work in progress.
      const live = stream[Symbol.asyncIterator]();
      for (;;) {
        const next = await this.deps.work.resting(live.next());
        if (next.done) break;
        const event = next.value;
        if (!isSessionEvent(event)) continue;
        // A queued event comes again once processed (same id): it leaves the queue, and is not relayed twice.
        if (seen.has(event.id)) {
          this.noteQueue(event);
          continue;
        }
        seen.add(event.id);
        this.track(event);
        const result = await this.handle(session, event);
        session = result.session;
        if (this.restsAfter(result.ended)) return 'ended';
      }
      return 'ended';
    } catch (error) {
      if (stop.signal.aborted) return 'ended';
      throw error;
    } finally {
      renew.cancel();
      stream?.controller.abort();
      await this.flushProgress().catch((error: unknown) =>
        this.deps.logger.warn('progress not written', { error: String(error) }),
      );
      await store.leases.release(lease, this.owner).catch(() => undefined);
    }
  }

  /** One event into Slack; the cursor moves past it. Returns whether the turn is over. */
  private async handle(
    session: SessionRecord,
    event: SessionEvent,
  ): Promise<{ session: SessionRecord; ended: boolean }> {
    let ended = false;
    let next = session;
    /** Fields written with the cursor (no round trip of their own). */
    let withCursor: Partial<Pick<SessionRecord, 'listCost' | 'ceiling'>> = {};
    switch (event.type) {
      case 'agent.message': {
        const text = messageText(event);
        if (text) {
          await this.flushProgress();
          await this.deps.notices.agentMessage(session, text);
          // Kept whole up to Slack's longest message text, for Share.
          next = { ...next, resultText: text.slice(0, RESULT_TEXT_MAX) };
          await this.deps.store.sessions.update(session.sessionId, { resultText: next.resultText });
        }
        break;
      }
      case 'agent.mcp_tool_use':
        // A call held for a decision is put to the person when the session stops for it (below).
        if (event.evaluated_permission === 'deny')
          this.note(`Refused by policy: \`${event.mcp_server_name}.${event.name}\``);
        else if (event.evaluated_permission !== 'ask')
          this.note(`Used \`${event.mcp_server_name}.${event.name}\``);
        break;
      case 'agent.mcp_tool_result':
        if (event.is_error) this.note('A tool call failed or was denied.');
        break;
      case 'session.error':
        // One the platform is still retrying is progress, not a failure: the turn goes on.
        if (event.error.retry_status.type === 'retrying') {
          this.note(`Retrying (${event.error.type.replace(/_/g, ' ')})`);
          break;
        }
        await this.flushProgress();
        await this.reportError(session, event.error);
        break;
      case 'session.status_running':
        next = await this.setStatus(next, 'running');
        break;
      case 'session.usage':
        // What the session has cost so far, and its ceiling: kept on the record with the cursor.
        this.sawUsage = true;
        withCursor = costOf(event.usage.list_cost, event.budget);
        next = { ...next, ...withCursor };
        break;
      case 'session.status_idle': {
        await this.flushProgress();
        // Calls the session stopped waiting on (it was stopped, or moved on) leave nothing live behind.
        if (this.everHeld()) await this.settleApprovals(next, event.id);
        if (event.stop_reason.type === 'requires_action') {
          const held = heldToolCalls(this.events);
          for (const { call, argumentsHash } of held)
            await this.deps.approvals.request(session, call, argumentsHash, event.id);
          next = await this.setStatus(next, 'waiting');
          if (held.length > 1) {
            const approveAllTs = await this.deps.notices.approvalsWaiting(session, held.length);
            if (approveAllTs) await this.deps.store.sessions.update(session.sessionId, { approveAllTs });
          }
        } else {
          // A turn a Stop cut short ends `end_turn` too: told as stopped, not as done.
          const stop =
            event.stop_reason.type === 'end_turn' && interruptedThisTurn(this.events)
              ? 'interrupted'
              : event.stop_reason.type;
          // The usage snapshots carried the cost; without one, or at the ceiling (where what was
          // spent is told, and the last periodic snapshot may predate the stop), the session is asked.
          const asked = !this.sawUsage || stop === 'budget_reached';
          next = await this.setStatus(next, 'idle', stop, asked ? await this.cost() : {});
          if (stop !== 'end_turn' && stop !== 'interrupted') await this.deps.notices.turnStopped(next, stop);
          ended = true;
        }
        break;
      }
      case 'session.status_terminated':
      case 'session.deleted':
        if (this.everHeld()) await this.settleApprovals(next, event.id);
        next = await this.setStatus(next, 'done');
        // An ended session takes no more turns: the sweep archives it now, not a week on.
        if (event.type === 'session.status_terminated')
          await this.deps.store.retention.schedule(
            { kind: 'session_archive', sessionId: session.sessionId },
            this.deps.clock.now(),
          );
        ended = true;
        break;
      default:
        break;
    }
    // The cursor moves only past processed events: lists order by processed_at, and a queued event
    // (a follow-up sent while the agent works) takes its place in that order only once processed.
    const processedAt =
      'processed_at' in event && event.processed_at ? Date.parse(event.processed_at) : Number.NaN;
    if (Number.isFinite(processedAt)) {
      await this.deps.store.sessions.update(session.sessionId, { cursor: event.id, ...withCursor });
      next = { ...next, cursor: event.id };
      this.deps.metrics.relayLag(this.deps.clock.now() - processedAt);
    }
    return { session: next, ended };
  }

  private track(event: SessionEvent): void {
    this.events.push(event);
    this.noteQueue(event);
  }

  /** Follow-ups sent while the agent works wait with `processed_at: null` until their turn. */
  private noteQueue(event: SessionEvent): void {
    if (!event.type.startsWith('user.')) return;
    if ('processed_at' in event && event.processed_at) this.queued.delete(event.id);
    else this.queued.add(event.id);
  }

  /** A turn that ended ends the relay only when nothing waits in the queue (or the session is gone). */
  private restsAfter(turnEnded: boolean): boolean {
    const gone = this.events.some(
      (e) => e.type === 'session.status_terminated' || e.type === 'session.deleted',
    );
    return turnEnded && (gone || this.queued.size === 0);
  }

  /** Best effort: what is left open here is found by the sweep (the session refuses a stale confirmation). */
  private async settleApprovals(session: SessionRecord, correlationId: string): Promise<void> {
    await this.deps.approvals
      .reconcile(session, this.events, correlationId)
      .catch((error: unknown) => this.deps.logger.warn('approvals not settled', { error: String(error) }));
  }

  /** Whether the session ever held a call for a decision (only then can it have approvals to settle). */
  private everHeld(): boolean {
    return this.events.some(
      (e) => e.type === 'session.status_idle' && e.stop_reason.type === 'requires_action',
    );
  }

  private async reportError(
    session: SessionRecord,
    error: Extract<SessionEvent, { type: 'session.error' }>['error'],
  ): Promise<void> {
    if (error.type === 'mcp_authentication_failed_error') {
      const connector = await this.deps.connections.connector(error.mcp_server_name);
      if (connector) {
        const link = await this.deps.connections.mintLink(session.principal, connector.id);
        await this.deps.notices.reconnectNeeded(session, connector, link);
        return;
      }
    }
    // The text comes from the agent's platform or a provider: secret-looking values are masked.
    await this.deps.notices.problem(session, redactText(String(error.message || error.type)).slice(0, 500));
  }

  /**
   * What the session has cost and its ceiling, asked of the API at a turn's end when no usage snapshot came (kept on the record;
   * a stop at the ceiling says both). Best effort: a failed read leaves them as they were.
   */
  private async cost(): Promise<Pick<SessionRecord, 'listCost' | 'ceiling'>> {
    try {
      const session = await this.deps.anthropic.beta.sessions.retrieve(this.sessionId);
      return costOf(session.usage.list_cost, session.budget);
    } catch (error) {
      this.deps.logger.warn('session cost not read', { sessionId: this.sessionId, error: String(error) });
      return {};
    }
  }

  private async setStatus(
    session: SessionRecord,
    status: SessionStatus,
    lastStop?: SessionRecord['lastStop'],
    cost: Pick<SessionRecord, 'listCost' | 'ceiling'> = {},
  ): Promise<SessionRecord> {
    if (session.status === status && (lastStop === undefined || session.lastStop === lastStop))
      return session;
    // When the turn ended is what retention counts from.
    const finishedAt =
      status === 'idle' || status === 'done' ? new Date(this.deps.clock.now()).toISOString() : undefined;
    const changes = {
      status,
      ...(finishedAt ? { finishedAt } : {}),
      ...(lastStop ? { lastStop } : {}),
      ...cost,
    };
    const next = { ...session, ...changes };
    await this.deps.store.sessions.update(session.sessionId, changes);
    // Not waited for, like progress edits: the relay goes on while the edit waits its turn.
    void this.deps.work
      .track(() => this.deps.notices.statusChanged(next))
      .catch((error: unknown) => this.deps.logger.warn('root message not updated', { error: String(error) }));
    return next;
  }

  /** Progress lines wait up to a second and go out together, editing one message. */
  private note(line: string): void {
    this.progress.push(line);
    this.flushTimer ??= this.deps.clock.setTimeout(
      () =>
        this.flushProgress().catch((error: unknown) =>
          this.deps.logger.warn('progress not written', { error: String(error) }),
        ),
      PROGRESS_FLUSH_MS,
    );
  }

  private async flushProgress(): Promise<void> {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    if (this.progress.length === this.progressSent) return;
    const session = await this.deps.store.sessions.get(this.sessionId);
    if (!session) return;
    const lines = [...this.progress];
    if (!this.progressTs) {
      // The first line opens the progress message: later edits need its ts, and the thread its place.
      this.progressTs = await this.deps.notices.progress(session, lines, undefined);
      this.progressSent = lines.length;
      return;
    }
    this.progressSent = lines.length;
    // An edit is not waited for: under Slack's limit on edits it may wait its turn, and the relay
    // goes on meanwhile (a newer edit of the same message replaces it in the outbox's queue).
    void this.deps.work
      .track(() => this.deps.notices.progress(session, lines, this.progressTs))
      .catch((error: unknown) => this.deps.logger.warn('progress not written', { error: String(error) }));
  }
}

/** A session's cost and ceiling as the record keeps them, from what the API gives. */
function costOf(
  listCost: { amount: string; currency: string } | null | undefined,
  budget: { max_list_cost: { amount: string; currency: string } } | null | undefined,
): Pick<SessionRecord, 'listCost' | 'ceiling'> {
  const ceiling = budget?.max_list_cost;
  return {
    ...(listCost ? { listCost: { amount: listCost.amount, currency: listCost.currency } } : {}),
    ...(ceiling ? { ceiling: { amount: ceiling.amount, currency: ceiling.currency } } : {}),
  };
}
