import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { SlackDirectory } from '../slack/directory.js';
import type { Principal } from './principal.js';

/** How long a workspace admin answer from users.info is trusted (security R52: at most 5 minutes). */
export const ADMIN_CACHE_MS = 5 * 60 * 1000;

/**
 * Who may administer Deputy: the users named in DEPUTY_ADMINS, and the workspace's admins and owners
 * as `users.info` reports them (cached briefly). The caller is always a verified principal.
 */
export class AdminDirectory {
  private readonly cache = new Map<string, { admin: boolean; until: number }>();

  constructor(
    private readonly deps: {
      directory: SlackDirectory;
      admins: readonly string[];
      clock: Clock;
      logger: Logger;
    },
  ) {}

  /** The users named in configuration; they are told of drift. */
  get configured(): readonly string[] {
    return this.deps.admins;
  }

  async isAdmin(principal: Principal): Promise<boolean> {
    if (this.deps.admins.includes(principal.userId)) return true;
    const now = this.deps.clock.now();
    const cached = this.cache.get(principal.userId);
    if (cached && cached.until > now) return cached.admin;
    try {
      const admin = await this.deps.directory.isAdminOrOwner(principal.userId);
      this.cache.set(principal.userId, { admin, until: now + ADMIN_CACHE_MS });
      return admin;
    } catch (error) {
      // Fail closed: without an answer from Slack nobody becomes an admin.
      this.deps.logger.warn('users.info failed during an admin check', { error: String(error) });
      return false;
    }
  }
}
