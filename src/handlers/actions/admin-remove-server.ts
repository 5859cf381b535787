import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { AuditAction } from '../../audit/audit-log.js';
import { serversModal } from '../../blocks/agents.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Services } from '../../services.js';
import { isAdmin } from '../admin-guard.js';
import { serverEntries } from '../commands/agent/admin-views.js';

/** Remove, in the `/agent servers` modal: takes an allow-list server off the list. */
export function adminRemoveServer(services: Services) {
  return async ({
    ack,
    body,
    action,
    client,
    context,
  }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const correlationId = String(context.correlationId);
    const principal = principalFromInteraction(body);
    if (!(await isAdmin(services, principal, 'allow list', correlationId))) return;
    const id = action.value ?? '';
    const server = (await services.store.allowList.list()).find((s) => s.id === id);
    // A server in use stays: removing it from the list must not leave agents running with it.
    const users = server
      ? (await services.agents.list()).filter((a) => a.config.servers.some((s) => s.url === server.url))
      : [];
    let notice: string | undefined;
    if (users.length > 0) {
      notice = `${server?.name} is used by ${users.map((a) => a.name).join(', ')}; take it out of those agents first.`;
    } else if (await services.store.allowList.remove(id)) {
      await services.audit.record({
        action: AuditAction.AllowListChanged,
        outcome: 'success',
        principal,
        target: id,
        correlationId,
        details: { removed: id },
      });
    }
    if (body.view)
      await client.views.update({
        view_id: body.view.id,
        view: serversModal(await serverEntries(services), notice),
      });
  };
}
