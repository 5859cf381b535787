import { type Principal, principalKey, sameWorkspace } from '../identity/principal.js';
import type { AuditRecord, Store } from '../store/index.js';

/** What `/agent audit` looks for: your own activity, or (admins) a person's, a session's or an agent's. */
export type AuditQuery =
  | { kind: 'mine' }
  | { kind: 'person'; userId: string }
  | { kind: 'session'; sessionId: string }
  | { kind: 'agent'; name: string };

export type AuditSearch =
  | { kind: 'not_admin' }
  | { kind: 'found'; query: AuditQuery; records: AuditRecord[]; more: boolean };

/** How many records a search shows, newest first. */
export const AUDIT_SHOWN = 20;

/** The admin check every admin surface makes (AdminAccess): a refusal is audited there. */
export interface AdminCheck {
  authorize(principal: Principal, surface: string, correlationId: string): Promise<boolean>;
}

/**
 * The audit trail as people see it in Slack (issue 18): everyone their own recent activity; admins
 * anyone's in their workspace, a session's (its start, tool calls and decisions, by its correlation
 * id) or an agent's changes. A non-admin asking for anything else gets nothing of the trail.
 */
export class AuditTrail {
  constructor(private readonly deps: { store: Store; access: AdminCheck }) {}

  async search(viewer: Principal, query: AuditQuery, correlationId: string): Promise<AuditSearch> {
    if (query.kind !== 'mine' && !(await this.deps.access.authorize(viewer, '/agent audit', correlationId)))
      return { kind: 'not_admin' };
    const records = (await this.find(viewer, query)).sort(
      (a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id),
    );
    return {
      kind: 'found',
      query,
      records: records.slice(0, AUDIT_SHOWN),
      more: records.length > AUDIT_SHOWN,
    };
  }

  private async find(viewer: Principal, query: AuditQuery): Promise<AuditRecord[]> {
    const { audit, sessions } = this.deps.store;
    switch (query.kind) {
      case 'mine':
        return audit.recentByPrincipal(principalKey(viewer), AUDIT_SHOWN + 1);
      case 'person':
        // The person as the viewer's workspace (or organisation) knows them.
        return audit.recentByPrincipal(principalKey({ ...viewer, userId: query.userId }), AUDIT_SHOWN + 1);
      case 'session': {
        const session = await sessions.get(query.sessionId);
        // Only the admin's own workspace's sessions.
        if (!session || !sameWorkspace(session.principal, viewer)) return [];
        const [targeted, correlated] = await Promise.all([
          audit.byTarget(session.sessionId),
          session.correlationId ? audit.byCorrelation(session.correlationId) : Promise.resolve([]),
        ]);
        const byId = new Map([...targeted, ...correlated].map((r) => [r.id, r]));
        return [...byId.values()];
      }
      case 'agent': {
        // Its changes are recorded against its id at Anthropic; refusals and the like by its name.
        const agent = await this.deps.store.agents.get(query.name);
        const lists = await Promise.all([
          audit.byTarget(query.name),
          agent ? audit.byTarget(agent.agentId) : Promise.resolve([]),
        ]);
        return lists.flat();
      }
    }
  }
}
