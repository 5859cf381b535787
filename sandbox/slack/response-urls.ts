import type { Clock } from '../../src/clock.js';
import { opaqueToken } from '../../src/ids.js';

/** Where a response_url's messages go: the conversation and person of the interaction. */
export interface ResponseUrlContext {
  channelId?: string;
  userId?: string;
  /** The message the interaction came from (replace_original/delete_original act on it). */
  messageTs?: string;
}

export interface ResponseUrlEntry {
  readonly id: string;
  readonly context: ResponseUrlContext;
  readonly issuedAt: number;
  uses: number;
  expired: boolean;
  /** The last message posted through this URL (or by the ack): the "original" for a command. */
  lastTs?: string;
}

/** Slack: "up to 5 times within 30 minutes" of the interaction. */
export const RESPONSE_URL_LIFETIME_MS = 30 * 60 * 1000;
export const RESPONSE_URL_MAX_USES = 5;

export type ResponseUrlRefusal = 'expired_url' | 'used_url' | 'no_service';

export class ResponseUrlRegistry {
  private readonly entries = new Map<string, ResponseUrlEntry>();

  constructor(private readonly clock: Clock) {}

  issue(context: ResponseUrlContext = {}): ResponseUrlEntry {
    const entry: ResponseUrlEntry = {
      id: opaqueToken(18),
      context,
      issuedAt: this.clock.now(),
      uses: 0,
      expired: false,
    };
    this.entries.set(entry.id, entry);
    return entry;
  }

  get(id: string): ResponseUrlEntry | undefined {
    return this.entries.get(id);
  }

  /** Why a post to this URL would be refused now, if it would be. */
  refusal(id: string): ResponseUrlRefusal | undefined {
    const entry = this.entries.get(id);
    if (!entry) return 'no_service';
    if (entry.expired || this.clock.now() - entry.issuedAt > RESPONSE_URL_LIFETIME_MS) return 'expired_url';
    if (entry.uses >= RESPONSE_URL_MAX_USES) return 'used_url';
    return undefined;
  }

  expire(id: string): void {
    const entry = this.entries.get(id);
    if (entry) entry.expired = true;
  }

  clear(): void {
    this.entries.clear();
  }
}
