import type { WebClient } from '@slack/web-api';
import type { Clock } from '../clock.js';

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

  /** The workspace the bot token is installed in (`auth.test`); throws when the token does not work. */
  async installedTeam(): Promise<string> {
    const { team_id: teamId } = await this.slack.auth.test();
    if (!teamId) throw new Error('auth.test named no team');
    return teamId;
  }
}
