import type Anthropic from '@anthropic-ai/sdk';
import type { AgentService } from './agents/agent-service.js';
import type { ServerList } from './agents/server-list.js';
import type { AgentSetup } from './agents/setup.js';
import type { AuditLog } from './audit/audit-log.js';
import type { AuditTrail } from './audit/audit-trail.js';
import type { AuditWebhooks } from './audit/audit-webhooks.js';
import type { Clock } from './clock.js';
import type { CatalogAccountService } from './connections/catalog-accounts.js';
import type { ConnectFlowService } from './connections/connect-flow.js';
import type { ConnectionsService } from './connections/connections-service.js';
import type { IdSource } from './ids.js';
import type { WebhookVerifier } from './ingress/anthropic-webhook.js';
import type { Budgets } from './limits/budgets.js';
import type { RateLimiter } from './limits/rate-limiter.js';
import type { Logger } from './logger.js';
import type { Outbox } from './outbox/outbox.js';
import type { PeopleService } from './people/people-service.js';
import type { PrivacyService } from './people/privacy-service.js';
import type { ApprovalService } from './sessions/approvals.js';
import type { RelayManager } from './sessions/relay.js';
import type { SessionService } from './sessions/session-service.js';
import type { SlackPacer } from './slack/rate-limits.js';
import type { Store } from './store/index.js';
import type { VaultService } from './vaults/vault-service.js';
import type { AckGate, Work } from './work.js';

/**
 * Everything the composition root wires, for the app's entry points (Slack's surfaces, the browser
 * routes, webhooks, the sweep) and for tests. Each surface is handed only the part it uses.
 */
export interface Services {
  store: Store;
  anthropic: Anthropic;
  /** The one way out to Slack. */
  outbox: Outbox;
  /** Keeps every Slack Web API call within Slack's limits (the outbox's and the directory's). */
  slackPacer: SlackPacer;
  vaults: VaultService;
  connections: ConnectionsService;
  connectFlows: ConnectFlowService;
  catalogAccounts: CatalogAccountService;
  agents: AgentService;
  agentSetup: AgentSetup;
  servers: ServerList;
  sessions: SessionService;
  approvals: ApprovalService;
  people: PeopleService;
  privacy: PrivacyService;
  relays: RelayManager;
  audit: AuditLog;
  /** Sends audit records on to a SIEM; absent without DEPUTY_AUDIT_WEBHOOK_URL. Stopped by the runtime. */
  auditWebhooks?: AuditWebhooks;
  /** The audit trail as people search it in Slack. */
  auditTrail: AuditTrail;
  /** Per-person rate limits, and the admins' settings of them. */
  limits: RateLimiter;
  /** Spend budgets, everyone's usage, and the admins' settings of them. */
  budgets: Budgets;
  /** The clock every service is given: sleeps rest the work that sleeps (see Work.clock). */
  clock: Clock;
  /** Work started and not finished: listener work, relays, sweeps. */
  work: Work;
  /** Slack deliveries still before their ack: work that can wait, waits for them. */
  acks: AckGate;
  ids: IdSource;
  logger: Logger;
  /** Verifies Anthropic's webhook deliveries; absent without ANTHROPIC_WEBHOOK_SIGNING_KEY. */
  verifyWebhook?: WebhookVerifier;
  settings: { publicBaseUrl: string };
}
