import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Clock } from '../clock.js';

/** A message of a conversation as Deputy passes it on: who wrote it (a person or an app), when, and what. */
export interface ConversationMessage {
  ts: string;
  /** The person who wrote it; absent for an app's or a workflow's message. */
  userId?: string;
  text: string;
}

/** What conversations.info says of a conversation: whether anyone in the workspace may read it. */
const conversationInfoSchema = z.object({
  channel: z.object({
    is_private: z.boolean().optional(),
    is_im: z.boolean().optional(),
    is_mpim: z.boolean().optional(),
  }),
});
const membersPageSchema = z.object({
  members: z.array(z.string()),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});
const repliesPageSchema = z.object({
  messages: z.array(
    z.looseObject({ ts: z.string(), user: z.string().optional(), text: z.string().optional() }),
  ),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});
const userKindSchema = z.object({
  user: z.object({
    deleted: z.boolean().optional(),
    is_restricted: z.boolean().optional(),
    is_ultra_restricted: z.boolean().optional(),
  }),
});

/**
 * How long a user group's members are taken as read. A change Slack sends an event for is seen at
 * once by the process that gets it; other replicas see it within this.
 */
export const GROUP_MEMBERS_TTL_MS = 60_000;

/**
 * What Deputy reads about people from Slack: whether someone administers the workspace, and who
 * is in a user group. Failures throw; callers decide how to fail closed.
 */
export class SlackDirectory {
  /** User-group members as last read, by group (see `groupMembers`). */
  private readonly groups = new Map<string, { members: string[]; readAtMs: number }>();

  constructor(
    private readonly slack: WebClient,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** Whether `users.info` says the user is an admin or owner of the workspace (and not deactivated). */
  async isAdminOrOwner(userId: string): Promise<boolean> {
    const { user } = await this.slack.users.info({ user: userId });
    return Boolean(user && !user.deleted && (user.is_admin || user.is_owner || user.is_primary_owner));
  }

  /**
   * The members of a user group, read again at most every GROUP_MEMBERS_TTL_MS: every run, listing
   * and approval asks, and Slack's tier for usergroups.users.list is 20 a minute. A change Slack
   * tells this process of (`subteam_members_changed`, `subteam_updated`) is read at once.
   */
  async groupMembers(groupId: string): Promise<string[]> {
    const now = this.clock.now();
    const cached = this.groups.get(groupId);
    if (cached && now - cached.readAtMs < GROUP_MEMBERS_TTL_MS) return cached.members;
    const { users } = await this.slack.usergroups.users.list({ usergroup: groupId });
    const members = users ?? [];
    this.groups.set(groupId, { members, readAtMs: now });
    return members;
  }

  /** Slack says the group changed: its members are read again on next use. */
  forgetGroup(groupId: string): void {
    this.groups.delete(groupId);
  }

  /**
   * Whether the person can read the conversation in Slack: a member of it, or (a public channel) a
   * full member of the workspace; guests see only what they are in. A conversation Deputy cannot
   * see itself counts as not readable.
   */
  async canRead(userId: string, channelId: string): Promise<boolean> {
    let info: z.infer<typeof conversationInfoSchema>;
    try {
      info = conversationInfoSchema.parse(await this.slack.conversations.info({ channel: channelId }));
    } catch (error) {
      if (slackError(error) === 'channel_not_found') return false;
      throw error;
    }
    const open = !info.channel.is_private && !info.channel.is_im && !info.channel.is_mpim;
    if (open) {
      const { user } = userKindSchema.parse(await this.slack.users.info({ user: userId }));
      if (user.deleted) return false;
      if (!user.is_restricted && !user.is_ultra_restricted) return true;
    }
    let cursor: string | undefined;
    do {
      const page = membersPageSchema.parse(
        await this.slack.conversations.members({
          channel: channelId,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        }),
      );
      if (page.members.includes(userId)) return true;
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return false;
  }

  /** A thread's messages, the parent first, at most `max` (the first ones). */
  async thread(channelId: string, threadTs: string, max: number): Promise<ConversationMessage[]> {
    const messages: ConversationMessage[] = [];
    let cursor: string | undefined;
    do {
      const page = repliesPageSchema.parse(
        await this.slack.conversations.replies({
          channel: channelId,
          ts: threadTs,
          limit: Math.min(max, 200),
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const m of page.messages)
        messages.push({ ts: m.ts, text: m.text ?? '', ...(m.user ? { userId: m.user } : {}) });
      cursor = page.has_more ? page.response_metadata?.next_cursor || undefined : undefined;
    } while (cursor && messages.length < max);
    return messages.slice(0, max);
  }

  /** The workspace the bot token is installed in (`auth.test`); throws when the token does not work. */
  async installedTeam(): Promise<string> {
    const { team_id: teamId } = await this.slack.auth.test();
    if (!teamId) throw new Error('auth.test named no team');
    return teamId;
  }
}

/** The error code of a failed Web API call (`channel_not_found`), if it is one. */
function slackError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}
