import type { Clock } from '../clock.js';
import { type Principal, principalKey, sameWorkspace } from '../identity/principal.js';
import type { Approval, AuditRecord, SessionRecord, Store } from '../store/index.js';
import { AuditFeed } from './audit-log.js';

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

/** How many entries each list of the admins' Home section shows, newest first. */
export const OVERVIEW_SHOWN = 8;

/** The admin section of the Home tab (issue 18, item 5): what is going on, for everyone in the workspace. */
export interface AdminOverview {
  /** Sessions started, newest first, each with its record where it is still kept. */
  sessions: Array<{ started: AuditRecord; session?: SessionRecord }>;
  /** Calls waiting for a person, the newest first, with whose session each is. */
  pending: Array<{ approval: Approval; owner: Principal }>;
  /** How many approvals are open in the deployment (waiting, or decided and not yet delivered). */
  open: number;
  refusals: AuditRecord[];
  lifecycle: AuditRecord[];
}

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
  constructor(private readonly deps: { store: Store; access: AdminCheck; clock: Clock }) {}

  /**
   * The admins' Home section. The caller shows it only to an admin (the Home tab checks who opened
   * it); records of people in other workspaces are left out. A few queries, each bounded.
   */
  async overview(viewer: Principal): Promise<AdminOverview> {
    const { audit, approvals, sessions } = this.deps.store;
    const ours = inWorkspaceOf(viewer);
    const recent = async (feed: AuditFeed) =>
      (await audit.recentInFeed(feed, OVERVIEW_SHOWN * 2)).filter(ours).slice(0, OVERVIEW_SHOWN);
    const [started, refusals, lifecycle, open] = await Promise.all([
      recent(AuditFeed.Sessions),
      recent(AuditFeed.Refusals),
      recent(AuditFeed.Lifecycle),
      approvals.open(),
    ]);
    // The open index (keys only, one query) is ordered by expiry: the newest requests are its end,
    // and only those records are read.
    const now = this.deps.clock.now();
    const newest = open.sort((a, b) => b.expiresAtMs - a.expiresAtMs).slice(0, OVERVIEW_SHOWN * 2);
    const waiting = (await approvals.getMany(newest.map((e) => e.approvalId)))
      .filter((a): a is Approval => a?.status === 'pending' && a.expiresAtMs > now)
      .slice(0, OVERVIEW_SHOWN);
    const sessionIds = [
      ...new Set([...started.map((r) => r.target ?? ''), ...waiting.map((a) => a.sessionId)]),
    ];
    const found = new Map(
      (await Promise.all(sessionIds.filter(Boolean).map((id) => sessions.get(id))))
        .filter((s): s is SessionRecord => s !== undefined)
        .map((s) => [s.sessionId, s]),
    );
    return {
      sessions: started.map((record) => {
        const session = found.get(record.target ?? '');
        return { started: record, ...(session ? { session } : {}) };
      }),
      pending: waiting
        .map((approval) => ({ approval, owner: found.get(approval.sessionId)?.principal }))
        // Only calls of sessions in the viewer's workspace (one whose record is gone shows nothing).
        .flatMap(({ approval, owner }) =>
          owner && sameWorkspace(owner, viewer) ? [{ approval, owner }] : [],
        ),
      open: open.length,
      refusals,
      lifecycle,
    };
  }

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

/**
 * Whether a record is of the viewer's workspace (on Enterprise Grid, their organisation): its person
 * is, or it names no person (an agent's or the deployment's own event) and no other workspace.
 */
function inWorkspaceOf(viewer: Principal): (record: AuditRecord) => boolean {
  const prefix = principalKey({ ...viewer, userId: '' });
  return (record) =>
    record.principalKey
      ? record.principalKey.startsWith(prefix)
      : !record.action.startsWith('workspace.') || record.target === viewer.teamId;
}
