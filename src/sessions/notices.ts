import type { Connector } from '../connections/catalog.js';
import type { Principal } from '../identity/principal.js';
import type { Approval, RunIntent, SessionRecord } from '../store/index.js';
import type { McpToolUse } from './events.js';

/** Where a session lives in Slack: the owner's DM with the app and the thread root there. */
export interface SessionThread {
  dmChannelId: string;
  threadTs: string;
  /** Its root's link, when Slack gave one. */
  permalink?: string;
}

/** A message in Slack: where a click came from, or where Deputy posted something. */
export interface MessageRef {
  channelId: string;
  messageTs: string;
}

/** Whether a click came from exactly the message Deputy posted (both known, and the same). */
export function sameMessage(posted: MessageRef | undefined, clickedOn: MessageRef | undefined): boolean {
  return (
    posted !== undefined &&
    clickedOn !== undefined &&
    posted.channelId === clickedOn.channelId &&
    posted.messageTs === clickedOn.messageTs
  );
}

/** The fields of a session its messages show. */
export type ShownSession = Pick<
  SessionRecord,
  | 'sessionId'
  | 'agentName'
  | 'prompt'
  | 'status'
  | 'channelId'
  | 'dmChannelId'
  | 'threadTs'
  | 'principal'
  | 'sharedTs'
  | 'lastStop'
  | 'lastDenied'
  | 'listCost'
  | 'ceiling'
  | 'ceilingRaisedAt'
  | 'finishedAt'
  | 'archivedAt'
>;

/**
 * What a session tells people in Slack (the outbox says it). Owned here, where the rules decide what
 * to say and when; sessions never render or send a message themselves.
 */
export interface SessionNotices {
  /** A run whose start was cut short (Deputy stopped mid-way) made no session: its person is told. */
  didNotStart(intent: Pick<RunIntent, 'principal' | 'agentName' | 'prompt'>): Promise<void>;
  /** Opens the session's thread in the owner's DM: its root message, with the agent, prompt and status. */
  opened(session: Omit<ShownSession, 'dmChannelId' | 'threadTs'>): Promise<SessionThread>;
  /** The root message again, for a new status (or once its result was shared). */
  statusChanged(session: ShownSession): Promise<void>;
  /** The agent's answer; `steps`: progress lines not posted on their own, carried above it. */
  agentMessage(session: ShownSession, text: string, steps?: readonly string[]): Promise<void>;
  /** Whether a new progress message would go now, not waiting on Slack's limits. */
  progressHasRoom(session: ShownSession): boolean;
  /**
   * Progress lines: a new message, or (given its ts) the same message edited. Returns its ts. The
   * least important write, waiting for the others under Slack's limits, unless `beforeMore`: more of
   * the thread follows it at once (an answer), so it goes at that pace.
   */
  progress(
    session: ShownSession,
    lines: string[],
    ts?: string,
    beforeMore?: boolean,
  ): Promise<string | undefined>;
  /** A held tool call put to the owner with Approve and Deny. Returns the message's ts. */
  approvalRequested(session: ShownSession, approval: Approval, call: McpToolUse): Promise<string | undefined>;
  /** Several calls wait at once: one button approves them all. Returns the message's ts. */
  approvalsWaiting(session: ShownSession, count: number): Promise<string | undefined>;
  /** A held call ran under the owner's standing 15-minute approval. */
  ranUnderGrant(session: ShownSession, approval: Approval): Promise<void>;
  /**
   * The approval message once settled: its buttons give way to the outcome and who decided, or to
   * why it no longer waits.
   */
  decided(approval: Approval): Promise<void>;
  /** A provider refused the person's connection mid-session: a Reconnect button in the thread. */
  reconnectNeeded(session: ShownSession, connector: Connector, link: string): Promise<void>;
  problem(session: ShownSession, description: string): Promise<void>;
  /** A turn stopped short of its end (spend ceiling, retries, refusal): said in its thread. */
  turnStopped(session: ShownSession, stop: 'budget_reached' | 'retries_exhausted' | 'refusal'): Promise<void>;
  /**
   * An admin raised the session's ceiling: its owner is told in the thread (and, when it had stopped
   * there, that a reply goes on).
   */
  ceilingRaised(session: ShownSession, admin: Principal, wasStopped: boolean): Promise<void>;
  /**
   * The owner's Share: the result posted in the channel the session ran from, or why Slack would
   * not take it there (nothing was posted then).
   */
  shared(session: ShownSession, resultText: string): Promise<SharePost>;
}

/**
 * Where a Share went: posted (its ts), or refused by Slack because Deputy may not post in the
 * channel: `cannot_post` (not a member without `chat:write.public`, archived, or posting there
 * restricted) or `private_channel` (private, and Deputy not in it: Slack says it does not exist).
 */
export type SharePost =
  | { kind: 'posted'; ts: string | undefined; permalink?: string }
  | { kind: 'refused'; reason: ShareRefusal };
export type ShareRefusal = 'cannot_post' | 'private_channel';

/**
 * Whether the session's last turn stopped at its ceiling and no admin has raised it since: Managed
 * Agents refuses it a message until then.
 */
export function stoppedAtCeiling(
  session: Pick<SessionRecord, 'status' | 'lastStop' | 'finishedAt' | 'ceilingRaisedAt'>,
): boolean {
  if (session.status !== 'idle' || session.lastStop !== 'budget_reached') return false;
  return !(session.ceilingRaisedAt && session.ceilingRaisedAt >= (session.finishedAt ?? ''));
}
