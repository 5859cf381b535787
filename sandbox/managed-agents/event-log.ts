import type { Sequenced } from './pagination.js';
import type { EmulatorState } from './store.js';

/** A session event as stored and sent: `id` (`sevt_…`), `type`, its fields, `processed_at`. */
export interface StoredEvent {
  id: string;
  type: string;
  processed_at: string | null;
  [field: string]: unknown;
}

export interface EventFields {
  type: string;
  [field: string]: unknown;
}

/** Something attached to a session's live stream (an SSE connection). */
export interface EventSubscriber {
  deliver(event: StoredEvent): void;
  /** The session is gone or terminated: end the stream. */
  close(): void;
}

interface Entry extends Sequenced {
  /** The list position: processing order, which a queued event takes once processed. */
  seq: number;
  event: StoredEvent;
}

/**
 * Lists order events by `processed_at`, as the API does; a queued event (`processed_at: null`) sorts
 * after every processed one (SQL's NULLS LAST), in the order it was sent, and moves to its processing
 * time once the agent picks it up.
 */
const QUEUED = 1e12;

/**
 * One session's event history plus its live subscribers. History is what `events.list`
 * returns; subscribers only see what happens after they attach (the stream never replays).
 */
export class SessionEventLog {
  private readonly entries: Entry[] = [];
  private readonly subscribers = new Set<EventSubscriber>();

  constructor(
    private readonly state: EmulatorState,
    private readonly sessionId: string,
  ) {}

  /**
   * Records and broadcasts an event. `queued` user events start with `processed_at: null` and
   * are broadcast again by markProcessed when the agent picks them up.
   */
  append(fields: EventFields, options: { queued?: boolean } = {}): StoredEvent {
    const event: StoredEvent = {
      id: this.state.ids.next('sevt'),
      ...fields,
      processed_at: options.queued ? null : this.state.now(),
    };
    const seq = this.state.nextSeq();
    this.entries.push({ seq: options.queued ? QUEUED + seq : seq, event });
    this.broadcast(event);
    this.state.onSessionEvent?.(this.sessionId, event.type);
    return structuredClone(event);
  }

  markProcessed(id: string): void {
    const entry = this.entries.find((e) => e.event.id === id);
    if (!entry || entry.event.processed_at) return;
    entry.event.processed_at = this.state.now();
    entry.seq = this.state.nextSeq();
    this.broadcast(entry.event);
  }

  /** Broadcasts an event that is not kept in history (e.g. `session.deleted`). */
  broadcastOnly(fields: EventFields): void {
    this.broadcast({ id: this.state.ids.next('sevt'), ...fields, processed_at: this.state.now() });
  }

  /** Every event in `processed_at` order (queued ones last). */
  history(): readonly Entry[] {
    return [...this.entries].sort((a, b) => a.seq - b.seq);
  }

  subscribe(subscriber: EventSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** How many event streams are open on this session now. */
  get streams(): number {
    return this.subscribers.size;
  }

  closeSubscribers(): void {
    for (const subscriber of this.subscribers) subscriber.close();
    this.subscribers.clear();
  }

  private broadcast(event: StoredEvent): void {
    for (const subscriber of this.subscribers) subscriber.deliver(structuredClone(event));
  }
}
