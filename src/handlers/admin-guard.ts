import { AuditAction } from '../audit/audit-log.js';
import type { Principal } from '../identity/principal.js';
import type { Services } from '../services.js';

/**
 * The check every admin surface makes first, whatever the payload claims: a command, a click in a
 * modal, or a submission (which could be forged by anyone holding a view id). A refusal is audited.
 */
export async function isAdmin(
  services: Services,
  principal: Principal,
  surface: string,
  correlationId: string,
) {
  if (await services.admins.isAdmin(principal)) return true;
  await services.audit.record({
    action: AuditAction.AdminRefused,
    outcome: 'refused',
    principal,
    target: surface,
    correlationId,
  });
  return false;
}
