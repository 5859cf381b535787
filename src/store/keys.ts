/**
 * Every key the store writes, one function per record kind, so the key space of both tables reads
 * in one place and no module spells another's key. The strings are what is stored in production:
 * changing one orphans the items written under the old one.
 */

/** A table key: partition and sort. */
export interface Key {
  pk: string;
  sk: string;
  [attribute: string]: string;
}

/** Sort keys that order by time as strings: epoch milliseconds, zero-padded. */
const sortableMs = (ms: number) => String(ms).padStart(15, '0');

export const keys = {
  /** The principal's vault mapping (one per principal). */
  vaultMapping: (principalKey: string): Key => ({ pk: `PRINCIPAL#${principalKey}`, sk: 'VAULT' }),
  /** Which memory store is the principal's (or a claim to create it). */
  memoryStoreMapping: (principalKey: string): Key => ({
    pk: `PRINCIPAL#${principalKey}`,
    sk: 'MEMORY_STORE',
  }),
  /** A principal's connection to one connector; the partition lists them all. */
  connection: (principalKey: string, connectorId: string): Key => ({
    pk: `PRINCIPAL#${principalKey}`,
    sk: `CONN#${connectorId}`,
  }),
  connectionsOf: (principalKey: string) => ({ partition: `PRINCIPAL#${principalKey}`, sortPrefix: 'CONN#' }),
  /** Who has ever connected a connector, so an admin can make them all reconnect it. */
  connectorMember: (connectorId: string, principalKey: string): Key => ({
    pk: `CONNECTOR#${connectorId}`,
    sk: principalKey,
  }),
  connectorMembers: (connectorId: string) => ({ partition: `CONNECTOR#${connectorId}`, allPages: true }),
  /** How to revoke the token of a principal's connection to one connector, sealed. */
  revocationHandle: (principalKey: string, connectorId: string): Key => ({
    pk: `PRINCIPAL#${principalKey}`,
    sk: `REVOKE#${connectorId}`,
  }),
  /** gsi1: the connection a vault credential belongs to. */
  connectionByCredential: (credentialId: string) => ({ gsi1pk: `CRED#${credentialId}`, gsi1sk: 'CONN' }),

  /** A Connect link, by the hash of its handle (the link itself is never stored). */
  connectHandle: (handleHash: string): Key => ({ pk: `HANDLE#${handleHash}`, sk: 'HANDLE' }),
  connectFlow: (flowId: string): Key => ({ pk: `FLOW#${flowId}`, sk: 'FLOW' }),
  /** gsi1: a connect flow by the `state` a callback brings back. */
  connectFlowByState: (state: string) => ({ gsi1pk: `FLOWSTATE#${state}`, gsi1sk: 'FLOW' }),
  oauthClient: (issuer: string, redirectUri: string): Key => ({
    pk: `OAUTHCLIENT#${issuer}`,
    sk: redirectUri,
  }),

  /** One tool of an MCP server's catalog; the partition holds them all and the refresh marker. */
  catalogTool: (serverUrl: string, tool: string): Key => ({ pk: `SERVER#${serverUrl}`, sk: `TOOL#${tool}` }),
  catalogTools: (serverUrl: string) => ({ partition: `SERVER#${serverUrl}`, sortPrefix: 'TOOL#' }),
  catalogRefreshed: (serverUrl: string): Key => ({ pk: `SERVER#${serverUrl}`, sk: 'REFRESHED' }),

  /** A server's catalog account (by connector id); the partition holds them all. */
  catalogAccount: (connectorId: string): Key => ({ pk: 'CATALOGACCOUNTS', sk: connectorId }),
  catalogAccounts: () => ({ partition: 'CATALOGACCOUNTS' }),

  allowedServer: (id: string): Key => ({ pk: 'ALLOWLIST', sk: `SERVER#${id}` }),
  allowList: () => ({ partition: 'ALLOWLIST' }),
  /** A skill synced from the skills folder, by its name; the partition holds them all. */
  skill: (name: string): Key => ({ pk: 'SKILLS', sk: `SKILL#${name}` }),
  skills: () => ({ partition: 'SKILLS', sortPrefix: 'SKILL#' }),
  agent: (name: string): Key => ({ pk: 'AGENTS', sk: `AGENT#${name}` }),
  agents: () => ({ partition: 'AGENTS', sortPrefix: 'AGENT#' }),

  webhookReceipt: (webhookId: string): Key => ({ pk: `WEBHOOK#${webhookId}`, sk: 'WEBHOOK' }),
  /** A Slack delivery (event, command or interaction) by its identity. */
  slackDelivery: (deliveryKey: string): Key => ({ pk: `DELIVERY#${deliveryKey}`, sk: 'DELIVERY' }),
  lease: (name: string): Key => ({ pk: `LEASE#${name}`, sk: 'LEASE' }),

  /** A run begun from a message shortcut, its modal still open. */
  pendingRun: (pendingId: string): Key => ({ pk: `PENDINGRUN#${pendingId}`, sk: 'PENDINGRUN' }),
  /** A run request, by the Slack delivery that made it. */
  runIntent: (dedupeKey: string): Key => ({ pk: `INTENT#${dedupeKey}`, sk: 'INTENT' }),
  /** Starts not yet finished (claimed, session not yet recorded), for the sweep. */
  openStart: (dedupeKey: string): Key => ({ pk: 'OPENSTARTS', sk: dedupeKey }),
  openStarts: () => ({ partition: 'OPENSTARTS' }),
  /** gsi1: a run request by its id (what a session's metadata and the Run-without button carry). */
  runIntentById: (intentId: string) => ({ gsi1pk: `INTENTID#${intentId}`, gsi1sk: 'INTENT' }),

  session: (sessionId: string): Key => ({ pk: `SESSION#${sessionId}`, sk: 'SESSION' }),
  /** gsi1: a person's sessions, newest first by creation time. */
  sessionsOfOwner: (principalKey: string, createdAt: string) => ({
    gsi1pk: `OWNER#${principalKey}`,
    gsi1sk: createdAt,
  }),
  /** A session whose relay has work, in its shard's partition (store/relay-index.ts). */
  activeSession: (shard: number, sessionId: string): Key => ({ pk: `ACTIVE#${shard}`, sk: sessionId }),
  activeSessions: (shard: number) => ({ partition: `ACTIVE#${shard}` }),
  /** Where the release before sharding marked active sessions (read once, to move them). */
  unshardedActiveSession: (sessionId: string): Key => ({ pk: 'ACTIVESESSIONS', sk: sessionId }),
  unshardedActiveSessions: () => ({ partition: 'ACTIVESESSIONS' }),
  /** A running Deputy process that relays sessions, alive while its heartbeat is ahead. */
  relayNode: (nodeId: string): Key => ({ pk: 'RELAYNODES', sk: nodeId }),
  relayNodes: () => ({ partition: 'RELAYNODES' }),
  /** Which node adopts what a slice of the sessions' dead relays left. */
  relayShard: (shard: number): Key => ({ pk: 'RELAYSHARDS', sk: String(shard).padStart(4, '0') }),
  relayShards: () => ({ partition: 'RELAYSHARDS' }),
  /** A Slack thread that belongs to a session (its DM thread, or a shared result's thread). */
  sessionThread: (channelId: string, threadTs: string): Key => ({
    pk: `THREAD#${channelId}#${threadTs}`,
    sk: 'THREAD',
  }),

  approval: (approvalId: string): Key => ({ pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' }),
  /** gsi1: a session's approvals. */
  approvalsOfSession: (sessionId: string, toolUseId: string) => ({
    gsi1pk: `APPROVALS#${sessionId}`,
    gsi1sk: toolUseId,
  }),
  /** One approval per tool call: the claim that makes a re-seen call ask once. */
  approvalOfToolUse: (sessionId: string, toolUseId: string): Key => ({
    pk: `TOOLUSE#${sessionId}#${toolUseId}`,
    sk: 'TOOLUSE',
  }),
  /**
   * Open approvals (undecided, or decided and not yet delivered) in expiry order, for the sweep. The
   * partition keeps the name it had when it held only undecided ones.
   */
  openApproval: (expiresAtMs: number, approvalId: string): Key => ({
    pk: 'PENDINGAPPROVALS',
    sk: `${sortableMs(expiresAtMs)}#${approvalId}`,
  }),
  openApprovals: () => ({ partition: 'PENDINGAPPROVALS' }),
  /** How many times a person did something limited in one window (`m` minute or `h` hour, by its index). */
  rateCount: (principalKey: string, action: string, window: string, index: number): Key => ({
    pk: `RATE#${principalKey}`,
    sk: `${action}#${window}#${index}`,
  }),
  /** That a person's repeated hits of a limit were reported, for one hour (reported once, not per hit). */
  rateReported: (principalKey: string, hourIndex: number): Key => ({
    pk: `RATE#${principalKey}`,
    sk: `REPORTED#${hourIndex}`,
  }),
  /** The live-session slots a person (`P#principal`) or an agent (`A#name`) holds. */
  liveSlots: (holder: string): Key => ({ pk: `LIVE#${holder}`, sk: 'SLOTS' }),
  /** The deployment's settings an admin changes in Slack (the rate limits, the budgets). */
  settings: (name: string): Key => ({ pk: 'SETTINGS', sk: name }),
  /**
   * What one session spent on one UTC day, three times over: in its person's partition, its agent's
   * and its month's (`scope` `P#principal`, `A#agent`, `M#YYYY-MM`), so each is one query.
   */
  usage: (scope: string, day: string, sessionId: string): Key => ({
    pk: `USAGE#${scope}`,
    sk: `${day}#${sessionId}`,
  }),
  /** The usage of one scope from the first day to the last, both included (days as `YYYY-MM-DD`). */
  usageBetween: (scope: string, firstDay: string, lastDay: string) => ({
    partition: `USAGE#${scope}`,
    sortBetween: [`${firstDay}#`, `${lastDay}#\uffff`] as [string, string],
    allPages: true,
  }),
  /** A standing "approve for 15 minutes" for one tool in one session. */
  /** Whether Deputy still acts for the principal (absent: it does). */
  personStanding: (principalKey: string): Key => ({ pk: `PRINCIPAL#${principalKey}`, sk: 'STANDING' }),
  /** Deputy revoked the principal's Slack user token itself, so Slack's `tokens_revoked` is no departure. */
  selfRevocation: (principalKey: string): Key => ({ pk: `PRINCIPAL#${principalKey}`, sk: 'SELFREVOKED' }),
  /** A departure whose clean-up has not finished yet, for the sweep. */
  unfinishedDeparture: (principalKey: string): Key => ({ pk: 'DEPARTURES', sk: principalKey }),
  unfinishedDepartures: () => ({ partition: 'DEPARTURES' }),
  /** Whether Deputy still works in the workspace (absent: it does). */
  workspaceStanding: (teamId: string): Key => ({ pk: `TEAM#${teamId}`, sk: 'STANDING' }),
  grant: (sessionId: string, server: string, tool: string): Key => ({
    pk: `GRANT#${sessionId}#${server}#${tool}`,
    sk: 'GRANT',
  }),

  /**
   * Records due to be purged (docs/architecture.md#retention), one partition per UTC day they fall
   * due, in due order; the cursor is the first day not yet swept clean.
   */
  purgeItem: (dueMs: number, target: string): Key => ({
    pk: `PURGE#${new Date(dueMs).toISOString().slice(0, 10)}`,
    sk: `${sortableMs(dueMs)}#${target}`,
  }),
  purgeDueBy: (day: string, nowMs: number) => ({
    partition: `PURGE#${day}`,
    sortBelow: sortableMs(nowMs + 1),
  }),
  purgeCursor: (): Key => ({ pk: 'PURGE', sk: 'CURSOR' }),

  /**
   * Audit table: a record at its place in its chain (the key makes the place one record's), indexed
   * by principal and time (gsi3), target (gsi1), correlation id (gsi2) and admin feed (gsi4).
   */
  auditLink: (chain: string, seq: number): Key => ({ pk: `L#${chain}`, sk: String(seq).padStart(12, '0') }),
  auditByPrincipal: (principalKey: string | undefined, sk: string) => ({
    gsi3pk: `P#${principalKey ?? NOBODY}`,
    gsi3sk: sk,
  }),
  auditOfPrincipal: (principalKey: string | undefined) => ({
    index: 'gsi3' as const,
    partition: `P#${principalKey ?? NOBODY}`,
  }),
  /** Where records written before the trail was chained are: keyed by principal and time. */
  legacyAuditOfPrincipal: (principalKey: string | undefined) => ({
    partition: `P#${principalKey ?? NOBODY}`,
  }),
  /** An audit record's sort key in the indexes: time, then id. */
  auditSortKey: (at: string, id: string) => `${at}#${id}`,
  auditByTarget: (target: string | undefined, sk: string) => ({
    gsi1pk: `T#${target ?? NOBODY}`,
    gsi1sk: sk,
  }),
  auditByCorrelation: (correlationId: string, sk: string) => ({ gsi2pk: `C#${correlationId}`, gsi2sk: sk }),
  /** gsi4 (sparse): the records of one of the admins' feeds (audit/audit-log.ts feedOf), by time. */
  auditByFeed: (feed: string, sk: string) => ({ gsi4pk: `F#${feed}`, gsi4sk: sk }),
} as const;

/** Where audit records with no known human (a forged request) are kept. */
const NOBODY = '-';
