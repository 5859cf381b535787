import { departureNotice } from '../blocks/people.js';
import type { Logger } from '../logger.js';
import type { DepartureSummary, PeopleNotices } from '../people/notices.js';
import type { Outbox } from './outbox.js';

/** What admins are told about people Deputy stopped acting for, as DMs from the app. */
export class SlackPeopleNotices implements PeopleNotices {
  constructor(private readonly deps: { outbox: Outbox; logger: Logger }) {}

  async departed(admins: readonly string[], summary: DepartureSummary): Promise<void> {
    const message = departureNotice(summary);
    for (const userId of admins) {
      await this.deps.outbox
        .toPerson(userId, message)
        .catch((error: unknown) =>
          this.deps.logger.warn('departure notice failed', { error: String(error) }),
        );
    }
  }
}
