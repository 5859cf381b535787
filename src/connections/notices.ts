import type { AdminOverview } from '../audit/audit-trail.js';
import type { Principal } from '../identity/principal.js';
import type { UsageOverview } from '../limits/budgets.js';
import type { Approval, SessionRecord } from '../store/index.js';
import type { Connector } from './catalog.js';
import type { ConnectorLink, Revocation } from './connections-service.js';

/** What the person's `/agent connect` message and Home tab should show again, if anything. */
export interface RefreshedViews {
  /** The ephemeral `/agent connect` message, replaced in place through its response_url. */
  message?: { responseUrl: string; entries: ConnectorLink[] };
  home?: HomeState;
}

/** What the person's Home tab shows: their connections, and the admin section when they are an admin. */
export interface HomeState {
  entries: ConnectorLink[];
  admin: boolean;
  /** What is going on in the workspace, for an admin (absent for everyone else). */
  overview?: AdminHome;
  /** Their agents, sessions and waiting calls (issue 20), where the Home tab is given them. */
  personal?: PersonalHome;
}

/** The person's part of the Home tab: the agents they may run, their recent sessions, and the calls waiting for their decision. */
export interface PersonalHome {
  agents: string[];
  sessions: SessionRecord[];
  waiting: Array<{ session: SessionRecord; approval: Approval }>;
}

/** The admins' Home section: activity (issue 18), and the top spenders this week and month (issue 19). */
export type AdminHome = AdminOverview & { usage?: UsageOverview };

/**
 * What people are told in Slack about their connections (the outbox says it). Owned here, where
 * the rules decide when to tell them; connections never render or send a message themselves.
 */
export interface ConnectionNotices {
  /** A connect finished: a DM saying so, and the views refreshed. */
  connected(principal: Principal, connector: Connector, refreshed: RefreshedViews): Promise<void>;
  /** A connect did not finish: a DM saying why, and the views refreshed. */
  failed(
    principal: Principal,
    connector: Connector,
    reason: string,
    refreshed: RefreshedViews,
  ): Promise<void>;
  /** A connection stopped working: a DM with a way to reconnect, and the views refreshed. */
  needsReconnect(principal: Principal, entry: ConnectorLink, refreshed: RefreshedViews): Promise<void>;
  /**
   * A disconnect went through: a DM confirming it, with how many live sessions that used it were
   * stopped, and whether the provider revoked the token (or may still honour it).
   */
  disconnected(
    principal: Principal,
    connector: Connector,
    outcome: { sessionsStopped: number; revocation: Revocation },
  ): Promise<void>;
  /** An agent now writes with a connection granted read access alone: a DM with a Reconnect button. */
  needsWiderAccess(principal: Principal, entry: ConnectorLink, agentName: string): Promise<void>;
  /** An admin connected a server's catalog account: a DM saying what it is used for. */
  catalogAccountConnected(admin: Principal, connector: Connector): Promise<void>;
  /** The views refreshed, nothing else said. */
  refreshed(principal: Principal, refreshed: RefreshedViews): Promise<void>;
}
