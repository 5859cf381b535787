import type { SlackMessage } from '../blocks/messages.js';
import {
  agentAnswer,
  answerPartsMessages,
  approvalMessage,
  approveAllMessage,
  ceilingRaisedMessage,
  decidedMessage,
  problemMessage,
  progressMessage,
  ranUnderGrantMessage,
  reconnectInThreadMessage,
  runDidNotStartMessage,
  sessionRootMessage,
  sharedResultMessage,
  turnStoppedMessage,
} from '../blocks/sessions.js';
import type { Connector } from '../connections/catalog.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logger.js';
import type { McpToolUse } from '../sessions/events.js';
import type { SessionNotices, SessionThread, SharePost, ShownSession } from '../sessions/notices.js';
import { slackErrorCode } from '../slack/client.js';
import type { Approval, RunIntent } from '../store/index.js';
import { isDirectMessage, type Outbox } from './outbox.js';

/** chat.postMessage's answers for a channel the app may not post in (besides `channel_not_found`). */
const NOT_POSTABLE = new Set([
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
]);

/** How many root messages' last content is remembered (an edit that would change nothing is not sent). */
const ROOTS_REMEMBERED = 10_000;

/** A session's messages, rendered and sent: the root in the owner's DM, and the thread under it. */
export class SlackSessionNotices implements SessionNotices {
  /** What each root message shows now, by its ts (the oldest forgotten first). */
  private readonly roots = new Map<string, string>();

  constructor(
    private readonly outbox: Outbox,
    private readonly logger: Logger,
  ) {}

  /** Whether the root would show something new; remembers it if so. */
  private rootChanged(ts: string, message: SlackMessage): boolean {
    const shown = JSON.stringify(message);
    if (this.roots.get(ts) === shown) return false;
    this.roots.delete(ts);
    this.roots.set(ts, shown);
    if (this.roots.size > ROOTS_REMEMBERED) {
      const oldest = this.roots.keys().next().value;
      if (oldest !== undefined) this.roots.delete(oldest);
    }
    return true;
  }

  async didNotStart(intent: Pick<RunIntent, 'principal' | 'agentName' | 'prompt'>): Promise<void> {
    await this.outbox.toPerson(
      intent.principal.userId,
      runDidNotStartMessage(intent.agentName, intent.prompt),
    );
  }

  async opened(session: Omit<ShownSession, 'dmChannelId' | 'threadTs'>): Promise<SessionThread> {
    const dmChannelId = await this.outbox.directMessageChannel(session.principal.userId);
    const message = sessionRootMessage(session, { shareable: false });
    const root = await this.outbox.post(dmChannelId, message);
    if (!root) throw new Error('chat.postMessage returned no ts for the session root');
    this.rootChanged(root.ts, message);
    const permalink = await this.outbox.permalink(dmChannelId, root.ts);
    return { dmChannelId, threadTs: root.ts, ...(permalink ? { permalink } : {}) };
  }

  async statusChanged(session: ShownSession): Promise<void> {
    // Run from a channel, a finished result may be shared there; run in the DM itself, there is nowhere to.
    const shareable = session.channelId !== session.dmChannelId && !isDirectMessage(session.channelId);
    const message = sessionRootMessage(session, { shareable });
    if (!this.rootChanged(session.threadTs, message)) return;
    // The thread says the same as it happens: the root's status may wait for what people wait on.
    await this.outbox.at('background', () =>
      this.outbox.update({ channelId: session.dmChannelId, ts: session.threadTs }, message),
    );
  }

  /** The agent's answer; `steps`: progress lines not posted on their own, shown above it. */
  async agentMessage(session: ShownSession, text: string, steps: readonly string[] = []): Promise<void> {
    const { message, file } = agentAnswer(text, session.agentName, steps, session.sessionId);
    await this.inThread(session, message);
    if (!file) return;
    // After its opening, so the thread reads in order: the whole of a long answer, as a file.
    try {
      await this.outbox.uploadFile({ channelId: session.dmChannelId, threadTs: session.threadTs }, file);
    } catch (error) {
      // Refused (no files:write, the upload host down): the answer still arrives whole, in parts, and
      // the relay goes on rather than failing on it (and posting the opening again) at every retry.
      this.logger.warn('answer not attached as a file; sent in parts', { error: String(error) });
      for (const part of answerPartsMessages(text)) await this.inThread(session, part);
    }
  }

  /**
   * Whether a new progress message would go now. When it would wait (Slack's limits are tight), the
   * relay keeps its lines for the next answer to carry rather than queue a post ahead of it.
   */
  progressHasRoom(session: ShownSession): boolean {
    return this.outbox.canPostNow(
      { channelId: session.dmChannelId, threadTs: session.threadTs },
      'background',
    );
  }

  /** The least important write: it waits for everything else when Slack's limits are tight. */
  async progress(
    session: ShownSession,
    lines: string[],
    ts?: string,
    beforeMore = false,
  ): Promise<string | undefined> {
    const message = progressMessage(lines, session.sessionId);
    return this.outbox.at(beforeMore ? 'normal' : 'background', async () => {
      if (ts) {
        await this.outbox.update({ channelId: session.dmChannelId, ts }, message);
        return ts;
      }
      return (await this.inThread(session, message))?.ts;
    });
  }

  /** A decision card never waits behind other writes (see SlackPriority). */
  async approvalRequested(
    session: ShownSession,
    approval: Approval,
    call: McpToolUse,
  ): Promise<string | undefined> {
    return this.outbox.at(
      'urgent',
      async () => (await this.inThread(session, approvalMessage(approval, call.input)))?.ts,
    );
  }

  async approvalsWaiting(session: ShownSession, count: number): Promise<string | undefined> {
    return this.outbox.at(
      'urgent',
      async () => (await this.inThread(session, approveAllMessage(session.sessionId, count)))?.ts,
    );
  }

  async ranUnderGrant(session: ShownSession, approval: Approval): Promise<void> {
    await this.inThread(session, ranUnderGrantMessage(approval));
  }

  async decided(approval: Approval): Promise<void> {
    if (!approval.messageTs) return;
    await this.outbox.update(
      { channelId: approval.channelId, ts: approval.messageTs },
      decidedMessage(approval),
    );
  }

  async reconnectNeeded(session: ShownSession, connector: Connector, link: string): Promise<void> {
    await this.inThread(session, reconnectInThreadMessage(connector, link));
  }

  async problem(session: ShownSession, description: string): Promise<void> {
    await this.inThread(session, problemMessage(description));
  }

  async turnStopped(
    session: ShownSession,
    stop: 'budget_reached' | 'retries_exhausted' | 'refusal',
  ): Promise<void> {
    await this.inThread(session, turnStoppedMessage(stop, session, session.sessionId));
  }

  async ceilingRaised(session: ShownSession, admin: Principal, wasStopped: boolean): Promise<void> {
    if (session.ceiling)
      await this.inThread(session, ceilingRaisedMessage(admin, session.ceiling, wasStopped));
  }

  async shared(session: ShownSession, resultText: string): Promise<SharePost> {
    try {
      const posted = await this.outbox.post(
        session.channelId,
        sharedResultMessage(session.principal, session.agentName, resultText),
      );
      // Its link for the person's answer: the shared message is one click away (issue 20).
      const permalink = posted ? await this.outbox.permalink(posted.channelId, posted.ts) : undefined;
      return { kind: 'posted', ts: posted?.ts, ...(permalink ? { permalink } : {}) };
    } catch (error) {
      // Slack's refusals that mean "not here": nothing was posted, and the person can fix it.
      const code = slackErrorCode(error);
      if (code === 'channel_not_found') return { kind: 'refused', reason: 'private_channel' };
      if (code && NOT_POSTABLE.has(code)) return { kind: 'refused', reason: 'cannot_post' };
      throw error;
    }
  }

  private inThread(session: ShownSession, message: Parameters<Outbox['post']>[1]) {
    return this.outbox.post(session.dmChannelId, message, session.threadTs);
  }
}
