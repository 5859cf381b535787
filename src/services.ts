import type Anthropic from '@anthropic-ai/sdk';
import type { WebClient } from '@slack/web-api';
import type { AgentService } from './agents/agent-service.js';
import type { AuditLog } from './audit/audit-log.js';
import type { Clock } from './clock.js';
import type { ConnectFlowService } from './connections/connect-flow.js';
import type { ConnectionsService } from './connections/connections-service.js';
import type { SlackConnectionNotices } from './connections/slack-notices.js';
import type { AdminDirectory } from './identity/admins.js';
import type { IdSource } from './ids.js';
import type { Logger } from './logger.js';
import type { OutboundHttp } from './net/outbound-http.js';
import type { ApprovalService } from './sessions/approvals.js';
import type { RelayManager } from './sessions/relay.js';
import type { SessionService } from './sessions/session-service.js';
import type { Store } from './store/index.js';
import type { VaultService } from './vaults/vault-service.js';
import type { Work } from './work.js';

/** What listeners and routes are given: every dependency passed in, none imported as a singleton. */
export interface Services {
  store: Store;
  anthropic: Anthropic;
  /** For messages outside a request (DMs, Home tab); listeners use the client Bolt hands them. */
  slack: WebClient;
  /** The only way out to providers: https, public addresses (unless allowed), time limits. */
  http: OutboundHttp;
  vaults: VaultService;
  connections: ConnectionsService;
  notices: SlackConnectionNotices;
  connectFlows: ConnectFlowService;
  admins: AdminDirectory;
  agents: AgentService;
  sessions: SessionService;
  approvals: ApprovalService;
  relays: RelayManager;
  audit: AuditLog;
  /** The clock every service is given: sleeps rest the work that sleeps (see Work.clock). */
  clock: Clock;
  /** Work started and not finished: listener work, relays, sweeps. */
  work: Work;
  ids: IdSource;
  logger: Logger;
  settings: { publicBaseUrl: string; allowPrivateNetwork: boolean; webhookSigningKey?: string };
}
