import type { App } from '@slack/bolt';
import type { AgentService } from '../agents/agent-service.js';
import type { ServerList } from '../agents/server-list.js';
import type { AgentSetup } from '../agents/setup.js';
import type { AuditTrail } from '../audit/audit-trail.js';
import type { ConnectionsService } from '../connections/connections-service.js';
import type { Budgets } from '../limits/budgets.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { Logger } from '../logger.js';
import type { Outbox } from '../outbox/outbox.js';
import type { PeopleService } from '../people/people-service.js';
import type { PrivacyService } from '../people/privacy-service.js';
import type { ApprovalService } from '../sessions/approvals.js';
import type { SessionService } from '../sessions/session-service.js';
import type { VaultService } from '../vaults/vault-service.js';
import * as actions from './actions/index.js';
import * as commands from './commands/index.js';
import * as events from './events/index.js';
import * as shortcuts from './shortcuts/index.js';
import * as views from './views/index.js';

/**
 * What Slack's surfaces are given: the services whose methods they call, and the outbox their
 * answers go out through. Never the store or the Slack and Anthropic clients: rules live in the
 * services, Slack writes in the outbox. Each listener takes only the ones it uses.
 */
export interface Surfaces {
  sessions: SessionService;
  auditTrail: AuditTrail;
  approvals: ApprovalService;
  people: PeopleService;
  privacy: PrivacyService;
  connections: ConnectionsService;
  agents: AgentService;
  agentSetup: AgentSetup;
  servers: ServerList;
  limits: RateLimiter;
  budgets: Budgets;
  vaults: VaultService;
  outbox: Outbox;
  logger: Logger;
}

/** Registers every listener, surface by surface, as Slack's Bolt templates do. */
export function registerListeners(app: App, surfaces: Surfaces): void {
  commands.register(app, surfaces);
  actions.register(app, surfaces);
  views.register(app, surfaces);
  shortcuts.register(app, surfaces);
  events.register(app, surfaces);
}
