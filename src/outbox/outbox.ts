import type { HomeView, ModalView } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from '../blocks/messages.js';
import type { ThreadFile } from '../blocks/sessions.js';
import type { Logger } from '../logger.js';
import { slackErrorCode } from '../slack/client.js';
import type { SlackPacer, SlackPriority } from '../slack/rate-limits.js';

/** A message Slack holds: where, and its ts. */
export interface MessageRef {
  channelId: string;
  ts: string;
}

/** Where a private answer to someone's request goes. */
export interface PrivateReplyTarget {
  /** The request's response_url, when it came with one. */
  responseUrl?: string | undefined;
  channelId: string;
  userId: string;
  /** The thread the ephemeral goes in (a mention's). */
  threadTs?: string;
}

/** Whether a conversation is a direct message (an IM with the app). */
export function isDirectMessage(channelId: string): boolean {
  return channelId.startsWith('D');
}

/**
 * The one way out to Slack: every message, edit, ephemeral, response_url answer, modal and Home tab
 * Deputy writes goes through here (the handlers with what they render, the services through their
 * notices, which render in this folder). It is where Slack's rate limits and retries are handled.
 */
export class Outbox {
  /** DM channel ids by person, most recently opened last (see directMessageChannel). */
  private readonly directMessages = new Map<string, string>();

  constructor(
    private readonly deps: {
      slack: WebClient;
      logger: Logger;
      fetch?: typeof fetch;
      /**
       * Slack's limits (the process's pacer): priorities for what the calls of some work may wait
       * for, and whether a call would go now. Without it calls go as `normal`, and always have room.
       */
      pacer?: Pick<SlackPacer, 'at' | 'hasRoom'>;
    },
  ) {}

  /**
   * Runs `write` with its Slack calls at `priority`: when Slack's limits are tight, a decision card
   * (`urgent`) goes first and progress (`background`) waits for the rest.
   */
  at<T>(priority: SlackPriority, write: () => Promise<T>): Promise<T> {
    return this.deps.pacer ? this.deps.pacer.at(priority, write) : write();
  }

  /** Whether a post to the thread at `priority` would go now, without waiting on Slack's limits. */
  canPostNow(place: { channelId: string; threadTs?: string }, priority: SlackPriority): boolean {
    return (
      this.deps.pacer?.hasRoom(
        { method: 'chat.postMessage', channel: place.channelId, threadTs: place.threadTs },
        priority,
      ) ?? true
    );
  }

  /**
   * The person's DM with the app. A DM's id never changes, and conversations.open is tier 3 (50 a
   * minute): each person's is opened once per process, not once per message.
   */
  async directMessageChannel(userId: string): Promise<string> {
    const known = this.directMessages.get(userId);
    if (known) return known;
    const opened = await this.deps.slack.conversations.open({ users: userId });
    if (!opened.channel?.id) throw new Error('conversations.open returned no channel');
    this.directMessages.set(userId, opened.channel.id);
    if (this.directMessages.size > DIRECT_MESSAGES_KEPT) {
      const oldest = this.directMessages.keys().next().value;
      if (oldest !== undefined) this.directMessages.delete(oldest);
    }
    return opened.channel.id;
  }

  /** A message to the person, in their DM with the app. */
  async toPerson(userId: string, message: SlackMessage): Promise<MessageRef | undefined> {
    return this.post(await this.directMessageChannel(userId), message);
  }

  /** A message in a conversation, or in a thread of it. */
  async post(channelId: string, message: SlackMessage, threadTs?: string): Promise<MessageRef | undefined> {
    const posted = await this.deps.slack.chat.postMessage({
      channel: channelId,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...wire(message),
    });
    return posted.ts ? { channelId, ts: posted.ts } : undefined;
  }

  /**
   * A file in a thread: Slack's three steps (an upload URL, the bytes, the completion that shares
   * it). The two Web API calls are paced like any other; the bytes go to Slack's upload host.
   */
  async uploadFile(to: { channelId: string; threadTs: string }, file: ThreadFile): Promise<void> {
    await this.deps.slack.filesUploadV2({
      channel_id: to.channelId,
      thread_ts: to.threadTs,
      filename: file.filename,
      title: file.title,
      content: file.content,
    });
  }

  async update(ref: MessageRef, message: SlackMessage): Promise<void> {
    await this.deps.slack.chat.update({ channel: ref.channelId, ts: ref.ts, ...wire(message) });
  }

  /** A message only `userId` sees, in a conversation (or one of its threads). */
  async ephemeral(
    to: { channelId: string; userId: string; threadTs?: string },
    message: SlackMessage,
  ): Promise<void> {
    await this.deps.slack.chat.postEphemeral({
      channel: to.channelId,
      user: to.userId,
      ...(to.threadTs ? { thread_ts: to.threadTs } : {}),
      ...wire(message),
    });
  }

  /** A message's permalink (`chat.getPermalink`); undefined when Slack gives none (a link is a convenience). */
  async permalink(channelId: string, ts: string): Promise<string | undefined> {
    try {
      const { permalink } = await this.deps.slack.chat.getPermalink({ channel: channelId, message_ts: ts });
      return typeof permalink === 'string' && /^https:\/\//.test(permalink) ? permalink : undefined;
    } catch (error) {
      this.deps.logger.warn('no permalink for a message', { error: String(error) });
      return undefined;
    }
  }

  /** An answer through a request's response_url: privately, as a new message or in place of the one clicked. */
  async respond(
    responseUrl: string,
    message: SlackMessage,
    options: { replaceOriginal: boolean },
  ): Promise<void> {
    const response = await (this.deps.fetch ?? fetch)(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        response_type: 'ephemeral',
        replace_original: options.replaceOriginal,
        ...wire(message),
      }),
    });
    if (!response.ok) throw new Error(`the response_url answered HTTP ${response.status}`);
  }

  /**
   * Answers the person privately: through the request's response_url, else an ephemeral message in
   * the channel, else a DM from the app (a response_url expires after 30 minutes or 5 uses, and
   * postEphemeral fails where the bot is not a member).
   */
  async privately(to: PrivateReplyTarget, message: SlackMessage): Promise<void> {
    if (to.responseUrl) {
      try {
        await this.respond(to.responseUrl, message, { replaceOriginal: false });
        return;
      } catch (error) {
        this.deps.logger.warn('response_url reply failed; falling back to an ephemeral message', {
          error: String(error),
        });
      }
    }
    try {
      await this.ephemeral(to, message);
      return;
    } catch (error) {
      this.deps.logger.warn('ephemeral reply failed; falling back to a DM', { error: String(error) });
    }
    try {
      await this.toPerson(to.userId, message);
    } catch (error) {
      // Slack knows no such person (or none the app may write to): there is nobody left to tell.
      const code = slackErrorCode(error);
      if (!code || !UNREACHABLE.has(code)) throw error;
      this.deps.logger.warn('the person cannot be reached in Slack; reply dropped', { error: code });
    }
  }

  /**
   * Opens a modal on a trigger, which Slack takes once and within 3 s: `trigger_used` is the same
   * request delivered again (its modal is open already), `trigger_expired` a trigger Slack no longer
   * takes, so the person must start again.
   */
  async openView(triggerId: string, view: ModalView): Promise<OpenedView> {
    try {
      const opened = await this.deps.slack.views.open({ trigger_id: triggerId, view });
      if (!opened.view?.id) throw new Error('views.open returned no view id');
      return { kind: 'opened', viewId: opened.view.id };
    } catch (error) {
      const code = slackErrorCode(error);
      if (code === 'exchanged_trigger_id') return { kind: 'trigger_used' };
      if (code === 'expired_trigger_id' || code === 'invalid_trigger_id') return { kind: 'trigger_expired' };
      throw error;
    }
  }

  async updateView(viewId: string, view: ModalView): Promise<void> {
    await this.deps.slack.views.update({ view_id: viewId, view });
  }

  async publishHome(userId: string, view: HomeView): Promise<void> {
    await this.deps.slack.views.publish({ user_id: userId, view });
  }
}

/** A modal opened (its id, to update it), or why not: the trigger was taken already, or has expired. */
export type OpenedView =
  | { kind: 'opened'; viewId: string }
  | { kind: 'trigger_used' }
  | { kind: 'trigger_expired' };

/** How many people's DM ids are kept (the oldest opened is forgotten first). */
const DIRECT_MESSAGES_KEPT = 10_000;

/** Slack's answers when a person cannot be written to at all. */
const UNREACHABLE = new Set([
  'user_not_found',
  'user_not_visible',
  'user_disabled',
  'account_inactive',
  'cannot_dm_bot',
]);

/** A message as Slack's methods take it: a text-only message sends no blocks at all. */
function wire(message: SlackMessage): { text: string; blocks?: SlackMessage['blocks'] } {
  return message.blocks.length > 0 ? { text: message.text, blocks: message.blocks } : { text: message.text };
}
