import { limitHitNotice } from '../blocks/limits.js';
import type { LimitHit, LimitNotices } from '../limits/notices.js';
import type { Logger } from '../logger.js';
import type { Outbox } from './outbox.js';

/** What admins are told about rate limits, as DMs from the app. */
export class SlackLimitNotices implements LimitNotices {
  constructor(private readonly deps: { outbox: Outbox; logger: Logger }) {}

  async limitHit(admins: readonly string[], hit: LimitHit): Promise<void> {
    const message = limitHitNotice(hit);
    for (const userId of admins) {
      await this.deps.outbox
        .toPerson(userId, message)
        .catch((error: unknown) => this.deps.logger.warn('limit notice failed', { error: String(error) }));
    }
  }
}
