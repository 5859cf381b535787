import type { Clock } from '../../src/clock.js';
import { randomBase58 } from '../../src/ids.js';
import { SlackApiError } from './errors.js';

/** Who a trigger was handed to, and from which modal (views.push needs one). */
export interface TriggerContext {
  userId?: string;
  viewId?: string;
}

interface Trigger {
  context: TriggerContext;
  issuedAt: number;
  exchanged: boolean;
}

/** Slack's trigger_id lives about three seconds and can be exchanged once. */
export const TRIGGER_LIFETIME_MS = 3000;

export class TriggerRegistry {
  private readonly triggers = new Map<string, Trigger>();

  constructor(private readonly clock: Clock) {}

  issue(context: TriggerContext = {}): string {
    const now = this.clock.now();
    // Shaped like Slack's `13345224609.738474920.8088930838d88f008e0`.
    const id = `${Math.floor(now / 1000)}.${this.triggers.size + 1}.${randomBase58(20)}`;
    this.triggers.set(id, { context, issuedAt: now, exchanged: false });
    return id;
  }

  /** Uses a trigger up; throws the error views.open/push answer for a bad one. */
  exchange(id: unknown): TriggerContext {
    if (typeof id !== 'string' || id === '') throw new SlackApiError('invalid_arguments');
    const trigger = this.triggers.get(id);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    if (trigger.exchanged) throw new SlackApiError('exchanged_trigger_id');
    if (this.clock.now() - trigger.issuedAt > TRIGGER_LIFETIME_MS)
      throw new SlackApiError('expired_trigger_id');
    trigger.exchanged = true;
    return trigger.context;
  }

  clear(): void {
    this.triggers.clear();
  }
}
