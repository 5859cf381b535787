import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { AuditAction } from '../../audit/audit-log.js';
import { ServerBlocks, serversModal } from '../../blocks/agents.js';
import { discoverMcpAuthorization, OAuthSetupError } from '../../connections/oauth/discovery.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Services } from '../../services.js';
import { isAdmin } from '../admin-guard.js';
import { serverEntries } from '../commands/agent/admin-views.js';
import { ViewState } from '../view-state.js';
import { withinBudget } from '../within-budget.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** `/agent servers` → Add server: checked (https, not a duplicate, metadata reachable), then allowed. */
export function adminServersSubmission(services: Services) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const correlationId = String(context.correlationId);
    const principal = principalFromInteraction(body);
    const refuse = (block: string, message: string) =>
      ack({ response_action: 'errors', errors: { [block]: message } });
    if (!(await isAdmin(services, principal, 'allow list', correlationId))) {
      return refuse(ServerBlocks.name, 'Only Deputy admins can change the server list.');
    }
    const state = new ViewState(view.state.values);
    const name = state.text(ServerBlocks.name);
    const authType = state.selected(ServerBlocks.auth);
    if (!name || name.length > 60)
      return refuse(ServerBlocks.name, 'Give the server a name of up to 60 characters.');
    if (authType !== 'mcp_oauth' && authType !== 'static_token')
      return refuse(ServerBlocks.auth, 'Choose how people connect.');
    let url: URL;
    try {
      url = new URL(state.text(ServerBlocks.url));
    } catch {
      return refuse(ServerBlocks.url, 'That is not a URL.');
    }
    // Plain http only for loopback servers, and only where private addresses are allowed (the sandbox).
    const localHttp =
      url.protocol === 'http:' && services.settings.allowPrivateNetwork && LOOPBACK.test(url.hostname);
    if (url.protocol !== 'https:' && !localHttp)
      return refuse(ServerBlocks.url, 'The URL must start with https://.');
    const catalog = await services.connections.catalog();
    if (
      catalog.some((c) => c.mcpServerUrl === url.toString() || c.name.toLowerCase() === name.toLowerCase())
    ) {
      return refuse(ServerBlocks.url, 'That server (or one with that name) is already on the list.');
    }
    try {
      if (authType === 'mcp_oauth')
        await withinBudget(services.clock, discoverMcpAuthorization(services.http, url.toString()));
      else await withinBudget(services.clock, services.http.assertSafeUrl(url.toString()));
    } catch (error) {
      const reason =
        error instanceof OAuthSetupError
          ? error.message
          : 'it did not answer in time, or its address is not allowed';
      return refuse(ServerBlocks.url, `Could not use this server’s OAuth metadata: ${reason}`.slice(0, 150));
    }
    const id = uniqueId(name, new Set(catalog.map((c) => c.id)));
    const now = new Date(services.clock.now()).toISOString();
    const added = await services.store.allowList.add({
      id,
      name,
      url: url.toString(),
      authType,
      addedBy: principal.userId,
      addedAt: now,
    });
    if (!added) return refuse(ServerBlocks.name, 'Another admin just added a server with that name.');
    await services.audit.record({
      action: AuditAction.AllowListChanged,
      outcome: 'success',
      principal,
      target: url.toString(),
      correlationId,
      details: { added: id, authType },
    });
    await ack({ response_action: 'update', view: serversModal(await serverEntries(services)) });
  };
}

function uniqueId(name: string, taken: Set<string>): string {
  const base =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 32) || 'server';
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
  return id;
}
