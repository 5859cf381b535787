import type { WebClient } from '@slack/web-api';

/**
 * What Deputy reads about people from Slack: whether someone administers the workspace, and who
 * is in a user group. Failures throw; callers decide how to fail closed.
 */
export class SlackDirectory {
  constructor(private readonly slack: WebClient) {}

  /** Whether `users.info` says the user is an admin or owner of the workspace (and not deactivated). */
  async isAdminOrOwner(userId: string): Promise<boolean> {
    const { user } = await this.slack.users.info({ user: userId });
    return Boolean(user && !user.deleted && (user.is_admin || user.is_owner || user.is_primary_owner));
  }

  /** The members of a user group. */
  async groupMembers(groupId: string): Promise<string[]> {
    const { users } = await this.slack.usergroups.users.list({ usergroup: groupId });
    return users ?? [];
  }

  /** The workspace the bot token is installed in (`auth.test`); throws when the token does not work. */
  async installedTeam(): Promise<string> {
    const { team_id: teamId } = await this.slack.auth.test();
    if (!teamId) throw new Error('auth.test named no team');
    return teamId;
  }
}
