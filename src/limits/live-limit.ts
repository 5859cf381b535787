import type { Clock } from '../clock.js';
import { type Principal, principalKey } from '../identity/principal.js';
import type { SessionRecord, Store } from '../store/index.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * How long a slot whose session cannot be seen yet is left alone: a start (its create retried, its
 * record written after Slack's pace allows its thread) stays well within this.
 */
const START_GRACE_MS = 30 * 60 * 1000;
/** A slot whose run intent is gone (kept a day) and was not taken again since is given back after this. */
const FORGOTTEN_AFTER_MS = 25 * 60 * 60 * 1000;

/** Whether a session is live: running, or waiting for a decision. */
export const isLive = (session: Pick<SessionRecord, 'status'>) =>
  session.status === 'running' || session.status === 'waiting';

export type LiveTake =
  | { kind: 'taken' }
  /** At the limit: the person's live sessions (to stop one), or the agent's count. */
  | { kind: 'full'; scope: 'person' | 'agent'; limit: number; live: SessionRecord[] };

/** What holds a slot: the run intent of its session, and whose and which agent's it is. */
export interface SlotOwner {
  principal: Principal;
  agentName: string;
  intentId: string;
}

/** Where a person's live-session slots are held (the item names them: forget-me deletes it). */
export const personHolder = (principal: Principal) => `P#${principalKey(principal)}`;
const agentHolder = (agentName: string) => `A#${agentName}`;

/**
 * At most so many live sessions (issue 19, item 4) per person and per agent. A session holds a slot
 * of each from its start (or a follow-up that wakes it) until its relay sees its turn end; slots
 * live in DynamoDB, so replicas count together. A slot whose session is no longer live (a relay
 * that died before giving it back, a start that never made one) is given back when a take finds
 * the limit reached, before it refuses.
 */
export class LiveLimit {
  constructor(private readonly deps: { store: Store; clock: Clock; limits: Pick<RateLimiter, 'current'> }) {}

  async take(owner: SlotOwner): Promise<LiveTake> {
    const { live } = await this.deps.limits.current();
    const now = this.deps.clock.now();
    for (let attempt = 0; ; attempt += 1) {
      const [person, agent] = await Promise.all([
        this.deps.store.liveSlots.take(personHolder(owner.principal), owner.intentId, live.perPerson, now),
        this.deps.store.liveSlots.take(agentHolder(owner.agentName), owner.intentId, live.perAgent, now),
      ]);
      if (person && agent) return { kind: 'taken' };
      if (person) await this.deps.store.liveSlots.release(personHolder(owner.principal), owner.intentId);
      if (agent) await this.deps.store.liveSlots.release(agentHolder(owner.agentName), owner.intentId);
      const holder = person ? agentHolder(owner.agentName) : personHolder(owner.principal);
      const { held, stale } = await this.audit(holder);
      if (stale > 0 && attempt === 0) continue;
      return person
        ? { kind: 'full', scope: 'agent', limit: live.perAgent, live: [] }
        : { kind: 'full', scope: 'person', limit: live.perPerson, live: held };
    }
  }

  /** The session is no longer live: its slots go back. Giving back twice changes nothing. */
  async release(owner: Pick<SlotOwner, 'intentId' | 'agentName'> & { principal: Principal }): Promise<void> {
    await Promise.all([
      this.deps.store.liveSlots.release(personHolder(owner.principal), owner.intentId),
      this.deps.store.liveSlots.release(agentHolder(owner.agentName), owner.intentId),
    ]);
  }

  /**
   * The holder's slots checked against their sessions: the live ones, and how many were given back.
   * Only a slot known not to be live goes back: its session rested or ended, its start made none
   * within the grace, or its intent is gone and nothing took the slot again for longer than an intent
   * is kept. An intent not found yet (the index lags a fresh write) keeps its slot.
   */
  private async audit(holder: string): Promise<{ held: SessionRecord[]; stale: number }> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const held: SessionRecord[] = [];
    let stale = 0;
    for (const { slot, takenAtMs } of await store.liveSlots.held(holder)) {
      const intent = await store.runIntents.byId(slot);
      const session = intent?.sessionId ? await store.sessions.get(intent.sessionId) : undefined;
      const gone = session
        ? !isLive(session)
        : intent
          ? takenAtMs + START_GRACE_MS < now
          : takenAtMs + FORGOTTEN_AFTER_MS < now;
      if (session && !gone) held.push(session);
      if (gone) {
        await store.liveSlots.release(holder, slot);
        stale += 1;
      }
    }
    return { held, stale };
  }
}
