import type Anthropic from '@anthropic-ai/sdk';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock, Timer } from '../clock.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import { fingerprint } from '../fingerprint.js';
import type { IdSource } from '../ids.js';
import type { LiveLimit } from '../limits/live-limit.js';
import { type UsageMeter, usageBehind } from '../limits/usage-meter.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { redactText } from '../redact.js';
import type { SessionRecord, SessionStatus, Store } from '../store/index.js';
import { RELAY_SHARDS, type RelayClaim, unrelayed } from '../store/relay-index.js';
import type { AckGate, Work } from '../work.js';
import type { ApprovalService } from './approvals.js';
import {
  deniedThisTurn,
  heldToolCalls,
  interruptedThisTurn,
  isSessionEvent,
  type McpToolUse,
  messageText,
  restsAt,
  type SessionEvent,
  sessionHistory,
} from './events.js';
import type { SessionNotices } from './notices.js';
import { callOutcome, toolResultSummary } from './tool-results.js';

/**
 * A node is alive while its heartbeat, written every `NODE_TICK_MS`, is less than `NODE_TTL_MS`
 * old: a killed node's sessions are adopted by the owners of their shards within
 * `NODE_TTL_MS + NODE_TICK_MS` (the lease period, 30 s, is the promise).
 */
export const NODE_TTL_MS = 20_000;
export const NODE_TICK_MS = 5_000;
/** Every this many ticks a node also reads its shards' sessions, whatever else it saw. */
const SCANS_EVERY_TICKS = 6;
/** A cursor that moved past events Slack was not sent anything for is written at most this often. */
const CURSOR_WRITE_MS = 1000;
/** How long a turn's end waits for the session's cost (one retry within it). */
const COST_READ_TIMEOUT_MS = 5000;
/**
 * Progress lines are gathered and written at most this often per session; across sessions the
 * outbox keeps edits within Slack's tier for chat.update, a newer edit replacing one not yet sent.
 */
const PROGRESS_FLUSH_MS = 1000;

export interface RelayDeps {
  store: Store;
  anthropic: Anthropic;
  audit: AuditLog;
  notices: SessionNotices;
  approvals: ApprovalService;
  connections: ConnectionsService;
  clock: Clock;
  work: Work;
  /** Slack deliveries before their ack: a relay handles its next event once they have had it. */
  acks?: Pick<AckGate, 'passed'>;
  ids: IdSource;
  logger: Logger;
  metrics: Metrics;
  /** Live-session slots: a session whose turn ended gives its back. */
  live?: Pick<LiveLimit, 'release'>;
  /** The usage ledger: what a session cost is counted when its turn rests. */
  usage?: Pick<UsageMeter, 'count' | 'settle'>;
}

interface RunningRelay {
  done: Promise<void>;
  stop: AbortController;
  /** Woken while it ran (here): it goes round once more before it lets the session rest. */
  again: boolean;
  /** Set once the claim is this node's (until then it may turn out to be another's to relay). */
  claimed: boolean;
}

/**
 * Runs this process's relays (docs/architecture.md#relays). A session is relayed by the node whose
 * claim its active item holds: taken with one conditional write when the session starts or is
 * woken (a follow-up, a decision, a webhook), and given back when its turn rests, unless it was
 * woken meanwhile. Nothing is renewed per session: a claim holds while its node's heartbeat does.
 * The sessions a dead node held are adopted by the owners of their shards, which nodes share
 * between them; a session waiting for a decision or a follow-up holds no claim and no stream.
 */
export class RelayManager {
  /** This process, as the relay index knows it. */
  readonly nodeId: string;
  private readonly running = new Map<string, RunningRelay>();
  private readonly held = new Set<number>();
  private live = new Set<string>();
  private ticker: Timer | undefined;
  private joined: Promise<number> | undefined;
  private ticks = 0;
  private lastBeatMs: number | undefined;
  private closed = false;

  constructor(private readonly deps: RelayDeps) {
    this.nodeId = deps.ids.next('node');
  }

  /**
   * Joins the relaying nodes: a heartbeat and a share of the shards now, then every tick. Once; a
   * node that is asked to relay before it was started joins first (a claim of a node without a
   * heartbeat would be taken for a dead one's).
   */
  start(): Promise<number> {
    this.joined ??= this.adopt().then((adopted) => {
      // Closed while joining: no ticker is left behind.
      if (this.closed) return adopted;
      this.ticker ??= this.deps.clock.setInterval(
        () =>
          this.adopt().catch((error: unknown) =>
            this.deps.logger.warn('relay tick failed', { error: String(error) }),
          ),
        NODE_TICK_MS,
      );
      return adopted;
    });
    return this.joined;
  }

  /**
   * Relays the session here: claims it (and counts a wake) unless another live node relays it, in
   * which case that node is woken to go round once more. A relay running here goes round again.
   */
  ensure(sessionId: string, from?: string): void {
    // Stopping: the session is marked woken, so a live node adopts it rather than nobody.
    if (this.closed) {
      void this.deps.work
        .track(() => this.deps.store.relayIndex.wake(sessionId))
        .catch((error: unknown) => this.deps.logger.warn('wake not recorded', { error: String(error) }));
      return;
    }
    const current = this.running.get(sessionId);
    if (current) {
      current.again = true;
      return;
    }
    // Taken at once, so a second ensure while the claim is under way goes round again.
    const entry: RunningRelay = {
      stop: new AbortController(),
      again: false,
      claimed: false,
      done: Promise.resolve(),
    };
    this.running.set(sessionId, entry);
    entry.done = this.deps.work.track(async () => {
      try {
        await this.start();
        const claim = await this.claimOrWake(sessionId, from);
        if (!claim) return;
        entry.claimed = true;
        await this.relay(sessionId, claim, entry);
      } catch (error) {
        this.deps.logger.error('relay failed', { sessionId, error: String(error) });
      } finally {
        if (this.running.get(sessionId) === entry) this.running.delete(sessionId);
      }
    });
  }

  /**
   * One tick: the heartbeat, this node's fair share of the shards (taking those of dead nodes,
   * giving up a surplus), and the sessions of its shards that nobody alive relays. Returns how
   * many sessions it adopted.
   */
  async adopt(): Promise<number> {
    if (this.closed) return 0;
    const { store, clock } = this.deps;
    const index = store.relayIndex;
    const now = clock.now();
    const stalled = this.lastBeatMs !== undefined && now - this.lastBeatMs >= NODE_TTL_MS;
    await index.heartbeat(this.nodeId, now + NODE_TTL_MS);
    this.lastBeatMs = now;
    // A node that missed its own heartbeat may have been taken for dead: each relay whose session
    // another node has adopted meanwhile stops here.
    if (stalled) await this.dropAdoptedElsewhere();
    const [live, owners] = await Promise.all([index.liveNodes(now), index.shardOwners()]);
    const someoneLeft = [...this.live].some((node) => !live.has(node));
    this.live = live;
    const fresh = this.rebalance(live, owners);
    const shares = await Promise.all(fresh.map(([shard, from]) => index.takeShard(shard, this.nodeId, from)));
    const taken = fresh.filter((_, i) => shares[i]).map(([shard]) => shard);
    for (const shard of taken) this.held.add(shard);
    this.ticks += 1;
    const scanAll = someoneLeft || this.ticks % SCANS_EVERY_TICKS === 1;
    const toScan = scanAll ? [...this.held] : taken;
    if (toScan.length === 0) return 0;
    if (toScan.includes(0)) await index.moveUnsharded();
    let adopted = 0;
    for (const shard of toScan) {
      for (const item of await index.active(shard)) {
        if (this.running.has(item.sessionId)) continue;
        // Its own, but not running here (a relay stopped when this node missed its heartbeat).
        const mine = item.relayNode === this.nodeId;
        if (!mine && !unrelayed(item, live)) continue;
        this.ensure(item.sessionId, item.relayNode);
        adopted += 1;
      }
    }
    return adopted;
  }

  /** Whether this process is relaying the session now. */
  isRelaying(sessionId: string): boolean {
    return this.running.get(sessionId)?.claimed === true;
  }

  /** The shards this node adopts for. */
  get shards(): readonly number[] {
    return [...this.held].sort((a, b) => a - b);
  }

  /**
   * Stops every relay for good and leaves: the heartbeat and shards go at once, so the other
   * nodes adopt this one's sessions at their next tick and resume them from their cursors.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.ticker?.cancel();
    for (const relay of this.running.values()) relay.stop.abort();
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
    const index = this.deps.store.relayIndex;
    await Promise.all(
      [...this.held].map((shard) => index.releaseShard(shard, this.nodeId).catch(() => false)),
    );
    this.held.clear();
    await index.leave(this.nodeId).catch(() => undefined);
  }

  private async dropAdoptedElsewhere(): Promise<void> {
    const index = this.deps.store.relayIndex;
    await Promise.all(
      [...this.running.entries()].map(async ([sessionId, relay]) => {
        const holder = (await index.get(sessionId))?.relayNode;
        if (holder && holder !== this.nodeId) relay.stop.abort();
      }),
    );
  }

  /**
   * Which shards to take now (with the owner each was seen with): free ones and dead nodes', up to
   * an even share. A node over its share gives the rest up, so one that joined finds them free.
   */
  private rebalance(live: Set<string>, owners: Map<number, string>): Array<[number, string | undefined]> {
    const share = Math.ceil(RELAY_SHARDS / Math.max(1, live.size));
    for (const shard of [...this.held]) if (owners.get(shard) !== this.nodeId) this.held.delete(shard);
    const surplus = this.held.size - share;
    if (surplus > 0) {
      for (const shard of this.shards.slice(-surplus)) {
        this.held.delete(shard);
        void this.deps.store.relayIndex.releaseShard(shard, this.nodeId).catch(() => false);
      }
    }
    const wanted: Array<[number, string | undefined]> = [];
    for (let shard = 0; shard < RELAY_SHARDS && this.held.size + wanted.length < share; shard += 1) {
      const owner = owners.get(shard);
      if (owner === this.nodeId) this.held.add(shard);
      else if (!owner || !live.has(owner)) wanted.push([shard, owner]);
    }
    return wanted;
  }

  /**
   * Claims the session for this node, counting a wake; if another node relays it, that node is
   * woken instead (undefined) unless it is dead, in which case its claim is taken over. An adopting
   * node names the dead holder it found (`deadHolder`), so the first write takes it over.
   */
  private async claimOrWake(sessionId: string, deadHolder?: string): Promise<RelayClaim | undefined> {
    const { store, clock } = this.deps;
    const index = store.relayIndex;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const from = attempt === 0 && deadHolder !== this.nodeId ? deadHolder : undefined;
      const claim = await index.claim(sessionId, this.nodeId, { wake: true, ...(from ? { from } : {}) });
      if (claim) return claim;
      const holder = (await index.get(sessionId))?.relayNode;
      if (!holder) continue;
      // Asked afresh: a node that started after this one last looked is alive, not dead.
      if (!(await index.liveNodes(clock.now())).has(holder)) {
        const taken = await index.claim(sessionId, this.nodeId, { wake: true, from: holder });
        if (taken) return taken;
        continue;
      }
      const woken = await index.wake(sessionId);
      // Still held there after the wake: its relay sees the wake when it would let the session rest.
      if (woken.relayNode && woken.relayNode !== this.nodeId) return undefined;
    }
    return undefined;
  }

  private async giveBackSlots(sessionId: string): Promise<void> {
    const session = await this.deps.store.sessions.get(sessionId).catch(() => undefined);
    if (!session) return;
    await this.deps.live?.release(session).catch((error: unknown) =>
      this.deps.logger.warn('live slots not given back; the next full take finds them', {
        error: String(error),
      }),
    );
  }

  /** Relays the session until its turn rests and nobody woke it meanwhile; then gives the claim back. */
  private async relay(sessionId: string, first: RelayClaim, entry: RunningRelay): Promise<void> {
    const index = this.deps.store.relayIndex;
    let claim = first;
    for (;;) {
      entry.again = false;
      const rest = await new SessionRelay(this.deps, sessionId, entry.stop.signal).run();
      // Stopping (or taken for dead): the claim stays, so whoever adopts the session goes on.
      if (entry.stop.signal.aborted || rest === 'gone') return;
      if (entry.again) continue;
      // The stream ended without the session resting (the platform closed it): the claim stays,
      // and this node's next scan of its shards, or the next wake, relays it again.
      if (rest === 'stopped') return;
      if (await index.release(sessionId, this.nodeId, claim, rest === 'waiting')) {
        // Rested and handed back with nobody waking it meanwhile: no longer live, so its
        // live-session slots go back (issue 19). A reply after this takes them again.
        if (rest === 'idle') await this.giveBackSlots(sessionId);
        return;
      }
      const now = await index.get(sessionId);
      // Gone (purged), or another node took it over: nothing more here.
      if (now?.relayNode !== this.nodeId) return;
      claim = { wakes: now.wakes ?? 0 };
    }
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
  /** Every event seen so far, history then stream: held tool calls are read from it. */
  private readonly events: SessionEvent[] = [];
  /** User events sent and not yet processed (a follow-up queued while the agent works). */
  private readonly queued = new Set<string>();
  private progress: string[] = [];
  /** How many of the progress lines Slack has been handed: a flush with nothing new sends nothing. */
  private progressSent = 0;
  private progressTs: string | undefined;
  /** The first progress post while it is on its way (see flushProgress). */
  private progressPost: Promise<void> | undefined;
  private flushTimer: Timer | undefined;
  /** The session as the relay last knew it (where its thread is). */
  private shown: SessionRecord | undefined;
  /** The cursor (and fields that go with it) not yet written, and when it last was. */
  private pending: Partial<Pick<SessionRecord, 'cursor' | 'listCost' | 'ceiling' | 'resultText'>> | undefined;
  private cursorWrittenAt = Number.NEGATIVE_INFINITY;
  private cursorTimer: Timer | undefined;

  constructor(
    private readonly deps: RelayDeps,
    private readonly sessionId: string,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * Relays until the session rests: its turn ended, or it waits for a decision, with no follow-up
   * queued. Stops at once when `signal` aborts (the node stops, or was taken for dead).
   */
  async run(): Promise<'idle' | 'waiting' | 'gone' | 'stopped'> {
    const { store } = this.deps;
    let stream: Awaited<ReturnType<Anthropic['beta']['sessions']['events']['stream']>> | undefined;
    // A burst of Slack requests is acked first; the relay starts the moment after.
    await this.deps.acks?.passed();
    try {
      // Open the stream first, then read the history: nothing falls between the two.
      stream = await this.deps.anthropic.beta.sessions.events.stream(
        this.sessionId,
        {},
        { signal: this.signal },
      );
      let session = await store.sessions.get(this.sessionId);
      // Purged (forgotten, or past retention): nothing is left to relay, and nobody should adopt it.
      if (!session) {
        await store.relayIndex.remove(this.sessionId);
        return 'gone';
      }
      // A count a failure or a crash cut short (its cost written, not counted; counted, not in the
      // ledger) is finished first; failing again fails the relay, which is run again.
      if (this.deps.usage && usageBehind(session)) await this.deps.usage.settle(session);
      const seen = new Set<string>();
      const history = await sessionHistory(this.deps.anthropic, this.sessionId);
      const resumeAt = session.cursor ? history.findIndex((e) => e.id === session?.cursor) : -1;
      // All of the history is relayed, even past a turn that ended in it: later turns follow it.
      for (const [index, event] of history.entries()) {
        seen.add(event.id);
        this.track(event);
        if (index <= resumeAt) continue;
        session = (await this.handle(session, event, true)).session;
      }
      // Nothing has happened since the turn ended (or paused for a decision), and nothing waits.
      if (this.rests(restsAt(history))) return this.restingAs();
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
        if (this.rests(result.rests)) return this.restingAs();
      }
      return 'stopped';
    } catch (error) {
      if (this.signal.aborted) return 'stopped';
      throw error;
    } finally {
      stream?.controller.abort();
      await this.flushProgress().catch((error: unknown) =>
        this.deps.logger.warn('progress not written', { error: String(error) }),
      );
      await this.writeCursor().catch((error: unknown) =>
        this.deps.logger.warn('cursor not written', { error: String(error) }),
      );
    }
  }

  /**
   * One event into Slack; the cursor moves past it (written with what Slack was sent, otherwise at
   * most once a second). Returns whether the session rests after it (its turn ended, or it waits).
   */
  private async handle(
    session: SessionRecord,
    event: SessionEvent,
    /** Read from the history past the cursor: a relay before this one may have handled it. */
    replayed = false,
  ): Promise<{ session: SessionRecord; rests: boolean }> {
    // A burst of Slack requests is acked first; the event waits the moment that takes.
    await this.deps.acks?.passed();
    this.shown = session;
    let rests = false;
    /** Whether Slack was sent something for this event (its cursor is then written at once). */
    let told = false;
    let next = session;
    /** Fields written with the cursor (no round trip of their own). */
    let withCursor: Partial<Pick<SessionRecord, 'listCost' | 'ceiling' | 'resultText'>> = {};
    switch (event.type) {
      case 'agent.message': {
        const text = messageText(event);
        if (text) {
          const steps = this.stepsToCarry(session);
          if (steps.length === 0) await this.flushProgress(true);
          await this.deps.notices.agentMessage(session, text, steps);
          // Kept whole up to Slack's longest message text, for Share (written with the cursor).
          next = { ...next, resultText: text.slice(0, RESULT_TEXT_MAX) };
          withCursor = { resultText: next.resultText };
          told = true;
        }
        break;
      }
      case 'agent.mcp_tool_use':
        await this.auditToolCall(session, event, replayed);
        // A call held for a decision is put to the person when the session stops for it (below).
        if (event.evaluated_permission === 'deny')
          this.note(`Refused by policy: \`${event.mcp_server_name}.${event.name}\``);
        else if (event.evaluated_permission !== 'ask')
          this.note(`Used \`${event.mcp_server_name}.${event.name}\``);
        break;
      case 'agent.mcp_tool_result':
        {
          const line = this.toolResultLine(event);
          if (line) this.note(line);
        }
        break;
      case 'session.error':
        // One the platform is still retrying is progress, not a failure: the turn goes on.
        if (event.error.retry_status.type === 'retrying') {
          this.note(`Retrying (${event.error.type.replace(/_/g, ' ')})`);
          break;
        }
        await this.flushProgress(true);
        await this.reportError(session, event.error);
        told = true;
        break;
      case 'session.status_running':
        next = await this.setStatus(next, 'running');
        break;
      case 'session.usage':
        // What the session has cost so far, and its ceiling: kept on the record with the cursor.
        withCursor = costOf(event.usage.list_cost, event.budget);
        next = { ...next, ...withCursor };
        break;
      case 'session.status_idle': {
        await this.flushProgress(true);
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
          // It waits for a decision: no stream is held meanwhile (the decision wakes a relay).
          rests = true;
          told = true;
        } else {
          // A turn a Stop cut short ends `end_turn` too: told as stopped, not as done.
          const stop =
            event.stop_reason.type === 'end_turn' && interruptedThisTurn(this.events)
              ? 'interrupted'
              : event.stop_reason.type;
          // What the turn cost is asked of the session itself: the last periodic snapshot may predate
          // the turn's last model request, and usage is counted to the cent (issue 19). Not again for
          // a turn end already written (one read again from the history).
          const known = next.status === 'idle' && next.lastStop === stop;
          // The turn's end says what it did without: the calls denied in it (issue 20).
          next = await this.setStatus(
            next,
            'idle',
            stop,
            known ? {} : { ...(await this.cost()), lastDenied: deniedThisTurn(this.events) },
          );
          if (stop !== 'end_turn' && stop !== 'interrupted') await this.deps.notices.turnStopped(next, stop);
          rests = true;
          told = true;
        }
        break;
      }
      case 'session.status_terminated':
      case 'session.deleted':
        if (this.everHeld()) await this.settleApprovals(next, event.id);
        // Its last cost, read once more (a deleted session has nothing left to read).
        next = await this.setStatus(
          next,
          'done',
          undefined,
          event.type === 'session.status_terminated' && next.status !== 'done' ? await this.cost() : {},
        );
        // An ended session takes no more turns: the sweep archives it now, not a week on.
        if (event.type === 'session.status_terminated')
          await this.deps.store.retention.schedule(
            { kind: 'session_archive', sessionId: session.sessionId },
            this.deps.clock.now(),
          );
        rests = true;
        told = true;
        break;
      default:
        break;
    }
    // The cursor moves only past processed events: lists order by processed_at, and a queued event
    // (a follow-up sent while the agent works) takes its place in that order only once processed.
    const processedAt =
      'processed_at' in event && event.processed_at ? Date.parse(event.processed_at) : Number.NaN;
    if (Number.isFinite(processedAt)) {
      this.pending = { ...this.pending, ...withCursor, cursor: event.id };
      next = { ...next, cursor: event.id };
      const now = this.deps.clock.now();
      if (told || now - this.cursorWrittenAt >= CURSOR_WRITE_MS) await this.writeCursor();
      else this.cursorTimer ??= this.deps.clock.setTimeout(() => this.writeCursor(), CURSOR_WRITE_MS);
      this.deps.metrics.relayLag(now - processedAt);
    } else if (Object.keys(withCursor).length > 0) {
      this.pending = { ...this.pending, ...withCursor };
    }
    this.shown = next;
    return { session: next, rests };
  }

  /**
   * Writes the cursor (and what goes with it) if it moved since it was last written. A crash
   * repeats at most what was relayed since: nothing sent to Slack, which writes it at once.
   */
  private async writeCursor(): Promise<void> {
    this.cursorTimer?.cancel();
    this.cursorTimer = undefined;
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.cursorWrittenAt = this.deps.clock.now();
    await this.deps.store.sessions.update(this.sessionId, pending);
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

  /** How the session rests: waiting for a decision (still live), or with its turn over. */
  private restingAs(): 'idle' | 'waiting' {
    const last = this.events.findLast((e) => e.type.startsWith('session.status_'));
    return last?.type === 'session.status_idle' && last.stop_reason.type === 'requires_action'
      ? 'waiting'
      : 'idle';
  }

  /** A session at rest ends the relay only when nothing waits in the queue (or the session is gone). */
  private rests(atRest: boolean): boolean {
    const gone = this.events.some(
      (e) => e.type === 'session.status_terminated' || e.type === 'session.deleted',
    );
    return atRest && (gone || this.queued.size === 0);
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
   * What the session has cost and its ceiling, asked of the API at a turn's end (kept on the record
   * and counted; a stop at the ceiling says both). Best effort: a failed read leaves them as they were.
   */
  private async cost(): Promise<Pick<SessionRecord, 'listCost' | 'ceiling'>> {
    try {
      // Bounded: the turn's end waits on it (a failed read leaves the snapshot's cost).
      const session = await this.deps.anthropic.beta.sessions.retrieve(
        this.sessionId,
        {},
        { timeout: COST_READ_TIMEOUT_MS, maxRetries: 1 },
      );
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
    cost: Pick<SessionRecord, 'listCost' | 'ceiling' | 'lastDenied'> = {},
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
    // What waits to be written with the cursor goes with this write.
    const pending = this.pending ?? {};
    this.pending = undefined;
    this.cursorTimer?.cancel();
    this.cursorTimer = undefined;
    await this.deps.store.sessions.update(session.sessionId, { ...pending, ...changes });
    if (pending.cursor) this.cursorWrittenAt = this.deps.clock.now();
    // No longer live (its turn ended): its live-session slots go back (issue 19).
    // Ended for good: its live-session slots go back (a rest gives them back when handed back).
    if (status === 'done')
      await this.deps.live?.release(session).catch((error: unknown) =>
        this.deps.logger.warn('live slots not given back; the next full take finds them', {
          error: String(error),
        }),
      );
    // Not waited for, like progress edits: the relay goes on while the edit waits its turn.
    void this.deps.work
      .track(() => this.deps.notices.statusChanged(next))
      .catch((error: unknown) => this.deps.logger.warn('root message not updated', { error: String(error) }));
    // At rest (or paused for a decision), what it has cost so far is counted, once. Last, so a
    // count that fails (and fails the relay, to be run again) has left nothing else undone.
    if (status === 'running' || !next.listCost || !this.deps.usage) return next;
    const usage = await this.deps.usage.count(next, this.deps.clock.now());
    return usage ? { ...next, usage } : next;
  }

  /**
   * Every tool call the session makes is one audit record against its owner (issue 18, security
   * R45): the server and tool, what the agent version's policy said (allow, ask or deny; an asked
   * call's decision is its own record, on the same target), and the arguments' digest. One read
   * again from the history (a relay before this one stopped before its cursor moved) is recorded
   * only if it was not already.
   */
  private async auditToolCall(session: SessionRecord, call: McpToolUse, replayed: boolean): Promise<void> {
    if (
      replayed &&
      (await this.deps.store.audit.byTarget(call.id)).some((r) => r.action === AuditAction.ToolCalled)
    )
      return;
    const permission = call.evaluated_permission ?? 'allow';
    await this.deps.audit.record({
      action: AuditAction.ToolCalled,
      outcome: permission === 'deny' ? 'refused' : 'success',
      principal: session.principal,
      target: call.id,
      correlationId: session.correlationId ?? session.sessionId,
      details: {
        session: session.sessionId,
        server: call.mcp_server_name,
        tool: call.name,
        permission,
        // The policy that decided it (absent: the platform refused the call before any applied).
        setting: call.evaluation?.type ?? 'none',
        agent: session.agentName,
        agentVersion: session.agentVersion,
        arguments: fingerprint(call.input),
      },
    });
  }

  /** Progress lines wait up to a second and go out together, editing one message. */
  /** A tool's result as a progress line: which call, and what came of it in a few words (issue 20). */
  private toolResultLine(
    result: Extract<SessionEvent, { type: 'agent.mcp_tool_result' }>,
  ): string | undefined {
    const use = this.events.find(
      (e): e is McpToolUse => e.type === 'agent.mcp_tool_use' && e.id === result.mcp_tool_use_id,
    );
    const outcome = use ? callOutcome(this.events, use, result) : result.is_error ? 'failed' : 'returned';
    // A call the policy refused was said so when it was made.
    if (outcome === 'refused by policy') return undefined;
    const call = use ? `\`${use.mcp_server_name}.${use.name}\`` : 'A tool call';
    if (outcome === 'denied') return `${call} was denied, so it did not run.`;
    const summary = toolResultSummary(result.content);
    return outcome === 'failed' ? `${call} failed: ${summary}` : `${call} returned ${summary}`;
  }

  private note(line: string): void {
    this.progress.push(line);
    this.flushTimer ??= this.flushLater();
  }

  /** The progress lines go out a second from now. */
  private flushLater(): Timer {
    return this.deps.clock.setTimeout(
      () =>
        this.flushProgress().catch((error: unknown) =>
          this.deps.logger.warn('progress not written', { error: String(error) }),
        ),
      PROGRESS_FLUSH_MS,
    );
  }

  /**
   * The progress lines an answer carries instead of a progress message of their own: when there is
   * none yet, none on its way, and Slack's limits would make it wait, so the answer would wait
   * behind it (at 300 live sessions that doubled the posts answers waited for). They are then
   * done: lines that come after the answer open a progress message below it.
   */
  private stepsToCarry(session: SessionRecord): string[] {
    if (this.progressTs || this.progressPost || this.progress.length === this.progressSent) return [];
    if (this.deps.notices.progressHasRoom(session)) return [];
    const steps = this.progress.slice(this.progressSent);
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.progress = [];
    this.progressSent = 0;
    return steps;
  }

  /**
   * Hands Slack the progress lines not yet sent. The first opens the progress message, a post whose
   * ts later edits need: from a timer it goes when Slack's limits leave room for it and the relay
   * does not wait for it (lines that come meanwhile follow as an edit); `beforeMore` (an answer or
   * another message follows at once) posts it first, at that message's pace. Edits are never
   * waited for: a newer edit of the message replaces one not yet sent.
   */
  private async flushProgress(beforeMore = false): Promise<void> {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    const session = this.shown;
    if (!session || this.progress.length === this.progressSent) return;
    const lines = [...this.progress];
    if (!this.progressTs) {
      // Already on its way (and first in its thread's queue): what follows in the thread goes after it.
      if (this.progressPost) return;
      // Slack's limits are tight: the lines wait (an answer may carry them) rather than queue a post.
      if (!beforeMore && !this.deps.notices.progressHasRoom(session)) {
        this.flushTimer = this.flushLater();
        return;
      }
      this.progressSent = lines.length;
      const posting = this.deps.notices.progress(session, lines, undefined, beforeMore).then((ts) => {
        this.progressTs = ts;
      });
      if (beforeMore) {
        await posting;
        return;
      }
      this.progressPost = this.deps.work
        .track(async () => {
          try {
            await posting;
          } finally {
            this.progressPost = undefined;
          }
          if (this.progressTs) await this.flushProgress();
        })
        .catch((error: unknown) => this.deps.logger.warn('progress not written', { error: String(error) }));
      return;
    }
    this.progressSent = lines.length;
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
