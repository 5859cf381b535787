import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { AdminDirectory } from '../identity/admins.js';
import type { Principal } from '../identity/principal.js';

/**
 * The check every admin surface makes first, whatever the payload claims: a command, a click in a
 * modal, or a submission (which anyone holding a view id could forge). A refusal is audited.
 */
export class AdminAccess {
  constructor(private readonly deps: { admins: AdminDirectory; audit: AuditLog }) {}

  async authorize(principal: Principal, surface: string, correlationId: string): Promise<boolean> {
    if (await this.deps.admins.isAdmin(principal)) return true;
    await this.deps.audit.record({
      action: AuditAction.AdminRefused,
      outcome: 'refused',
      principal,
      target: surface,
      correlationId,
    });
    return false;
  }
}
