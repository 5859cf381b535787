import type { AgentNotices, ToolsChanged } from '../agents/notices.js';
import { toolsChangedMessage } from '../blocks/agents.js';
import type { Logger } from '../logger.js';
import type { Outbox } from './outbox.js';

/** What admins are told about agents, as DMs from the app. */
export class SlackAgentNotices implements AgentNotices {
  constructor(private readonly deps: { outbox: Outbox; logger: Logger }) {}

  async toolsChanged(userIds: string[], change: ToolsChanged): Promise<void> {
    const message = toolsChangedMessage(change);
    for (const userId of userIds) {
      await this.deps.outbox
        .toPerson(userId, message)
        .catch((error: unknown) => this.deps.logger.warn('drift notice failed', { error: String(error) }));
    }
  }
}
