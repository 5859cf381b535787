import type { AuditQuery } from '../../../audit/audit-trail.js';
import { auditSearchMessage, auditUsageMessage } from '../../../blocks/audit.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import type { Surfaces } from '../../index.js';
import type { CommandContext } from './context.js';

/** `/agent audit [@person | SESSION_ID | agent NAME]`: the audit trail, as far as the caller may see it. */
export async function agentAudit(
  { auditTrail }: Pick<Surfaces, 'auditTrail'>,
  command: CommandContext,
  query: AuditQuery | undefined,
): Promise<SlackMessage> {
  if (!query) return auditUsageMessage();
  return auditSearchMessage(await auditTrail.search(command.principal, query, command.correlationId));
}
