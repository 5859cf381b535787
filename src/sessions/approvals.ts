import type Anthropic from '@anthropic-ai/sdk';
import { AuditAction, type AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Principal } from '../identity/principal.js';
import type { Steering } from '../identity/steering.js';
import type { IdSource } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Approval, SessionRecord, Store } from '../store/index.js';
import { heldToolCalls, type McpToolUse, sessionHistory } from './events.js';
import type { SessionNotices } from './notices.js';

/** How long a held tool call waits for a decision, and how long "approve for 15 minutes" lasts. */
export const APPROVAL_TTL_MS = 15 * 60 * 1000;
export const STANDING_GRANT_MS = 15 * 60 * 1000;

export type Decision = 'allow' | 'deny' | 'allow_15m';
export type DecisionOutcome =
  | 'decided'
  | 'already_decided'
  | 'expired'
  | 'not_allowed'
  | 'changed'
  | 'unknown';

export interface ApprovalServiceOptions {
  store: Store;
  anthropic: Anthropic;
  notices: SessionNotices;
  steering: Steering;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** Called once a decision reached the session, which now runs again: its relay must see it. */
  resume(sessionId: string): void;
}

/**
 * Human approval of held tool calls (docs/architecture.md#sessions): only the session's owner,
 * or the agent's approver group, decides; a decision is one conditional write followed by exactly
 * one `user.tool_confirmation`; an undecided call expires into a deny.
 */
export class ApprovalService {
  constructor(private readonly deps: ApprovalServiceOptions) {}

  /** A held call: allowed at once under a standing grant, otherwise put to the owner with buttons. */
  async request(
    session: SessionRecord,
    call: McpToolUse,
    argumentsHash: string,
    correlationId: string,
  ): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const granted = await store.grants.has(session.sessionId, call.mcp_server_name, call.name, now);
    const approval: Approval = {
      approvalId: this.deps.ids.next('apr'),
      sessionId: session.sessionId,
      toolUseId: call.id,
      server: call.mcp_server_name,
      tool: call.name,
      argumentsHash,
      status: granted ? 'allowed' : 'pending',
      channelId: session.dmChannelId,
      expiresAtMs: now + APPROVAL_TTL_MS,
      ...(granted ? { decidedBy: 'standing-grant', decidedAt: new Date(now).toISOString() } : {}),
    };
    // A relay that resumes after a restart sees the call again: it is asked about once.
    if (!(await store.approvals.create(approval))) return;
    if (granted) {
      await this.confirm(
        session,
        [approval],
        'allow',
        'your 15-minute approval',
        correlationId,
        session.principal,
      );
      await this.deps.notices.ranUnderGrant(session, approval);
      return;
    }
    const posted = await this.deps.notices.approvalRequested(session, approval, call);
    if (posted) await store.approvals.setMessage(approval.approvalId, posted);
  }

  /** A click on Approve, Deny or Approve for 15 minutes. */
  async decide(
    approvalId: string,
    clicker: Principal,
    decision: Decision,
    correlationId: string,
  ): Promise<DecisionOutcome> {
    const approval = await this.deps.store.approvals.get(approvalId);
    const session = approval ? await this.deps.store.sessions.get(approval.sessionId) : undefined;
    if (!approval || !session) return 'unknown';
    if (!(await this.deps.steering.mayAct(clicker, session, 'decide'))) {
      await this.deps.audit.record({
        action: AuditAction.ApprovalRefused,
        outcome: 'refused',
        principal: clicker,
        target: approval.approvalId,
        correlationId,
        details: { session: session.sessionId, owner: session.principalKey },
      });
      return 'not_allowed';
    }
    if (approval.status === 'expired') return 'expired';
    if (approval.status !== 'pending') return 'already_decided';
    if (approval.expiresAtMs <= this.deps.clock.now()) return 'expired';
    // What is allowed must be what was shown, and still waiting (security R32).
    if (decision !== 'deny' && !(await this.stillAsShown(session, [approval]))) return 'changed';
    const status = decision === 'deny' ? 'denied' : 'allowed';
    if (
      !(await this.deps.store.approvals.decide(
        approval.approvalId,
        status,
        clicker.userId,
        this.deps.clock.now(),
      ))
    ) {
      const now = (await this.deps.store.approvals.get(approvalId))?.status;
      return now === 'pending' || now === 'expired' ? 'expired' : 'already_decided';
    }
    const decided = { ...approval, status, decidedBy: clicker.userId } as const;
    const result = decision === 'deny' ? 'deny' : 'allow';
    if (!(await this.confirm(session, [decided], result, `<@${clicker.userId}>`, correlationId, clicker)))
      return 'unknown';
    if (decision === 'allow_15m') {
      await this.deps.store.grants.grant(
        session.sessionId,
        approval.server,
        approval.tool,
        this.deps.clock.now() + STANDING_GRANT_MS,
      );
    }
    await this.showDecided(decided);
    this.deps.resume(session.sessionId);
    return 'decided';
  }

  /** "Approve all": every pending call of the session that this person may decide, in one confirmation. */
  async approveAll(sessionId: string, clicker: Principal, correlationId: string): Promise<DecisionOutcome> {
    const session = await this.deps.store.sessions.get(sessionId);
    if (!session) return 'unknown';
    if (!(await this.deps.steering.mayAct(clicker, session, 'decide'))) return 'not_allowed';
    const now = this.deps.clock.now();
    const pending = (await this.deps.store.approvals.forSession(sessionId)).filter(
      (a) => a.status === 'pending' && a.expiresAtMs > now,
    );
    const current = (await this.stillWaiting(session)) ?? new Map<string, string>();
    const won: Approval[] = [];
    for (const approval of pending) {
      // Only calls still waiting exactly as shown; one stale id would make the whole batch fail.
      if (current.get(approval.toolUseId) !== approval.argumentsHash) continue;
      if (await this.deps.store.approvals.decide(approval.approvalId, 'allowed', clicker.userId, now)) {
        won.push({ ...approval, status: 'allowed', decidedBy: clicker.userId });
      }
    }
    if (won.length === 0) return 'already_decided';
    if (!(await this.confirm(session, won, 'allow', `<@${clicker.userId}>`, correlationId, clicker)))
      return 'unknown';
    for (const approval of won) await this.showDecided(approval);
    this.deps.resume(session.sessionId);
    return 'decided';
  }

  /** Pending calls whose time ran out become denies, each with a message saying so. */
  async expireDue(correlationId: string): Promise<number> {
    const due = await this.deps.store.approvals.expiredBefore(this.deps.clock.now());
    let expired = 0;
    for (const approvalId of due) {
      const approval = await this.deps.store.approvals.get(approvalId);
      const session = approval ? await this.deps.store.sessions.get(approval.sessionId) : undefined;
      if (!approval || !session) continue;
      if (
        !(await this.deps.store.approvals.decide(
          approval.approvalId,
          'expired',
          'deputy',
          this.deps.clock.now(),
        ))
      ) {
        // Decided meanwhile (or a decision whose confirmation failed): out of the index if settled.
        if ((await this.deps.store.approvals.get(approvalId))?.status !== 'pending')
          await this.deps.store.approvals.settled(approval);
        continue;
      }
      const gone = { ...approval, status: 'expired' } as const;
      if (await this.confirm(session, [gone], 'deny', 'nobody in time', correlationId, session.principal)) {
        await this.showDecided(gone);
        this.deps.resume(session.sessionId);
        expired += 1;
      }
    }
    return expired;
  }

  /** The held calls still waiting in the session, with the fingerprint of their arguments as they are now. */
  private async stillWaiting(session: SessionRecord): Promise<Map<string, string> | undefined> {
    try {
      const held = heldToolCalls(await sessionHistory(this.deps.anthropic, session.sessionId));
      return new Map(held.map(({ call, argumentsHash }) => [call.id, argumentsHash]));
    } catch (error) {
      this.deps.logger.warn('could not re-read the held calls', { error: String(error) });
      return undefined;
    }
  }

  private async stillAsShown(session: SessionRecord, approvals: Approval[]): Promise<boolean> {
    const current = await this.stillWaiting(session);
    return current !== undefined && approvals.every((a) => current.get(a.toolUseId) === a.argumentsHash);
  }

  /**
   * Audited first (an effect that cannot be audited is not sent), then one confirmation for all of
   * them. If either fails the decisions are reopened, so they can be made again (or expire), and
   * false is returned.
   */
  private async confirm(
    session: SessionRecord,
    approvals: Approval[],
    result: 'allow' | 'deny',
    decidedBy: string,
    correlationId: string,
    actor: Principal,
  ): Promise<boolean> {
    try {
      for (const approval of approvals) {
        await this.deps.audit.record({
          action: AuditAction.ApprovalDecided,
          outcome: 'success',
          principal: actor,
          target: approval.toolUseId,
          correlationId,
          details: {
            session: session.sessionId,
            tool: `${approval.server}.${approval.tool}`,
            result,
            decidedBy,
            arguments: approval.argumentsHash,
          },
        });
      }
      await this.deps.anthropic.beta.sessions.events.send(session.sessionId, {
        events: approvals.map((approval) =>
          result === 'allow'
            ? {
                type: 'user.tool_confirmation' as const,
                tool_use_id: approval.toolUseId,
                result: 'allow' as const,
              }
            : {
                type: 'user.tool_confirmation' as const,
                tool_use_id: approval.toolUseId,
                result: 'deny' as const,
                deny_message: `Denied in Slack by ${decidedBy}.`,
              },
        ),
      });
    } catch (error) {
      this.deps.logger.error('confirmation not sent; decisions reopened', {
        error: String(error),
        correlationId,
      });
      for (const approval of approvals)
        await this.deps.store.approvals.reopen(approval.approvalId, approval.decidedBy ?? '');
      return false;
    }
    for (const approval of approvals) await this.deps.store.approvals.settled(approval);
    return true;
  }

  private async showDecided(approval: Approval): Promise<void> {
    await this.deps.notices
      .decided(approval)
      .catch((error: unknown) =>
        this.deps.logger.warn('approval message not updated', { error: String(error) }),
      );
  }
}
