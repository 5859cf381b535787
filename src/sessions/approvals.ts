import type Anthropic from '@anthropic-ai/sdk';
import { AuditAction, type AuditLog, isAuditUnavailable } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { Principal } from '../identity/principal.js';
import type { Steering } from '../identity/steering.js';
import type { IdSource } from '../ids.js';
import type { RateCheck, RateLimiter } from '../limits/rate-limiter.js';
import type { Logger } from '../logger.js';
import {
  type Approval,
  awaitsDelivery,
  type ClosedReason,
  isOpen,
  type SessionRecord,
  type Store,
} from '../store/index.js';
import {
  type McpToolUse,
  SEND_TIMEOUT_MS,
  type SessionEvent,
  type SessionWait,
  sessionHistory,
  sessionWait,
} from './events.js';
import { type MessageRef, type SessionNotices, sameMessage } from './notices.js';

/** How long a held tool call waits for a decision, and how long "approve for 15 minutes" lasts. */
export const APPROVAL_TTL_MS = 15 * 60 * 1000;
export const STANDING_GRANT_MS = 15 * 60 * 1000;
/**
 * How long whoever recorded a decision has to deliver it before the sweep (or the owner's next
 * click) may deliver it instead: the process may have died in between.
 */
export const DELIVERY_LEASE_MS = 60 * 1000; // Three times the send timeout: a live sender is never overtaken.

export type Decision = 'allow' | 'deny' | 'allow_15m';
export type DecisionOutcome =
  /** The decision reached the session (or was found already there). */
  | 'decided'
  /** Recorded; its delivery failed or is under way, and the sweep finishes it. */
  | 'recorded'
  | 'already_decided'
  | 'expired'
  /** The session no longer waits on the call (stopped, ended or moved on): nothing was sent. */
  | 'closed'
  | 'not_allowed'
  /** The click did not come from the message Deputy posted for this approval. */
  | 'wrong_message'
  | 'changed'
  | 'unknown'
  /** Over the decision rate limit: nothing was decided. */
  | Extract<RateCheck, { kind: 'limited' }>;

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
  /** Per-person rate limits on decisions. */
  limits: Pick<RateLimiter, 'take'>;
}

/**
 * Human approval of held tool calls (docs/architecture.md#approvals): only the session's owner, or
 * the agent's approver group, decides, and only from the message Deputy posted for the call. A
 * decision is one conditional write (which also leases its delivery), then exactly one
 * `user.tool_confirmation`; an outcome in doubt is settled by reading the session's events, never by
 * sending again blindly. The sweep finishes what a dead process left and expires undecided calls
 * into denies; a session that stops waiting closes what it held.
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
    const lease = this.lease();
    const { approval, created } = await store.approvals.create({
      approvalId: this.deps.ids.next('apr'),
      sessionId: session.sessionId,
      toolUseId: call.id,
      server: call.mcp_server_name,
      tool: call.name,
      argumentsHash,
      status: granted ? 'allowed' : 'pending',
      channelId: session.dmChannelId,
      expiresAtMs: now + APPROVAL_TTL_MS,
      requestedAt: new Date(now).toISOString(),
      ...(granted
        ? {
            decidedBy: STANDING_GRANT,
            decidedAt: new Date(now).toISOString(),
            deliveryOwner: lease.owner,
            deliveryUntilMs: lease.untilMs,
          }
        : {}),
    });
    if (!created) {
      // Seen again (a relay resumed): asked once, but asked, even if the process died before posting.
      if (approval.status === 'pending' && !approval.messageTs) await this.post(session, approval, call);
      return;
    }
    if (granted) {
      await this.deliver(session, [approval], correlationId, session.principal);
      await this.deps.notices.ranUnderGrant(session, approval);
      return;
    }
    await this.post(session, approval, call);
  }

  /** A click on Approve, Deny or Approve for 15 minutes, on the message `clickedOn`. */
  async decide(
    approvalId: string,
    clicker: Principal,
    decision: Decision,
    correlationId: string,
    clickedOn: MessageRef | undefined,
  ): Promise<DecisionOutcome> {
    const { store, clock } = this.deps;
    const approval = await store.approvals.get(approvalId);
    const session = approval ? await store.sessions.get(approval.sessionId) : undefined;
    if (!approval || !session) return 'unknown';
    const posted = approval.messageTs
      ? { channelId: approval.channelId, messageTs: approval.messageTs }
      : undefined;
    if (!sameMessage(posted, clickedOn)) {
      await this.refused(clicker, approval.approvalId, correlationId, session, {
        reason: 'not_its_message',
        clickedOn,
      });
      return 'wrong_message';
    }
    if (!(await this.deps.steering.mayAct(clicker, session, 'decide'))) {
      await this.refused(clicker, approval.approvalId, correlationId, session, { reason: 'not_allowed' });
      return 'not_allowed';
    }
    const rate = await this.deps.limits.take(clicker, 'decide', correlationId);
    if (rate.kind === 'limited') return rate;
    // Recorded earlier and never delivered (a process died in between): this click finishes it.
    if (awaitsDelivery(approval)) return this.finish(session, approval, correlationId, clicker);
    if (approval.status !== 'pending') return settledOutcome(approval);
    if (approval.expiresAtMs <= clock.now()) return 'expired';
    // What is allowed must be what was shown, and still waiting (security R32).
    let wait: SessionWait | undefined;
    if (decision !== 'deny') {
      wait = await this.readWait(session);
      if (wait?.held.get(approval.toolUseId) !== approval.argumentsHash) return 'changed';
    }
    const status = decision === 'deny' ? 'denied' : 'allowed';
    const lease = this.lease();
    if (!(await store.approvals.decide(approval.approvalId, status, clicker.userId, clock.now(), lease))) {
      const now = await store.approvals.get(approvalId);
      return !now || now.status === 'pending' ? 'expired' : settledOutcome(now);
    }
    if (decision === 'allow_15m') {
      await store.grants.grant(
        session.sessionId,
        approval.server,
        approval.tool,
        clock.now() + STANDING_GRANT_MS,
      );
    }
    const decided: Approval = {
      ...approval,
      status,
      decidedBy: clicker.userId,
      decidedAt: new Date(clock.now()).toISOString(),
      deliveryOwner: lease.owner,
      deliveryUntilMs: lease.untilMs,
    };
    return this.deliver(session, [decided], correlationId, clicker, { wait });
  }

  /** "Approve all", on the message `clickedOn`: every call of the session still waiting as shown, in one confirmation. */
  async approveAll(
    sessionId: string,
    clicker: Principal,
    correlationId: string,
    clickedOn: MessageRef | undefined,
  ): Promise<DecisionOutcome> {
    const { store, clock } = this.deps;
    const session = await store.sessions.get(sessionId);
    if (!session) return 'unknown';
    const posted = session.approveAllTs
      ? { channelId: session.dmChannelId, messageTs: session.approveAllTs }
      : undefined;
    if (!sameMessage(posted, clickedOn)) {
      await this.refused(clicker, sessionId, correlationId, session, {
        reason: 'not_its_message',
        clickedOn,
      });
      return 'wrong_message';
    }
    if (!(await this.deps.steering.mayAct(clicker, session, 'decide'))) {
      await this.refused(clicker, sessionId, correlationId, session, { reason: 'not_allowed' });
      return 'not_allowed';
    }
    const rate = await this.deps.limits.take(clicker, 'decide', correlationId);
    if (rate.kind === 'limited') return rate;
    const now = clock.now();
    const pending = (await store.approvals.forSession(sessionId)).filter(
      (a) => a.status === 'pending' && a.expiresAtMs > now,
    );
    const wait = await this.readWait(session);
    if (!wait) return 'unknown';
    const lease = this.lease();
    const won: Approval[] = [];
    for (const approval of pending) {
      // Only calls still waiting exactly as shown; one stale id would make the whole batch fail.
      if (wait.held.get(approval.toolUseId) !== approval.argumentsHash) continue;
      if (await store.approvals.decide(approval.approvalId, 'allowed', clicker.userId, now, lease)) {
        won.push({
          ...approval,
          status: 'allowed',
          decidedBy: clicker.userId,
          decidedAt: new Date(now).toISOString(),
          deliveryOwner: lease.owner,
          deliveryUntilMs: lease.untilMs,
        });
      }
    }
    if (won.length === 0) return 'already_decided';
    return this.deliver(session, won, correlationId, clicker, { wait });
  }

  /**
   * The periodic sweep: undecided calls whose time ran out become denies; decisions a dead process
   * (or a failed send) left undelivered are delivered, after reading what the session already has.
   * Returns how many approvals it settled.
   */
  async sweep(correlationId: string): Promise<number> {
    const { store, clock } = this.deps;
    let settled = 0;
    const entries = await store.approvals.open();
    // Read in batches: at a thousand waiting sessions that is ten round trips a sweep, not a thousand.
    const approvals = await store.approvals.getMany(entries.map((e) => e.approvalId));
    for (const [i, entry] of entries.entries()) {
      const approval = approvals[i];
      if (!approval || !isOpen(approval)) {
        await store.approvals.unindex(entry);
        continue;
      }
      if (approval.status === 'pending' && approval.expiresAtMs > clock.now()) continue;
      const session = await store.sessions.get(approval.sessionId);
      if (!session) {
        await store.approvals.close(approval, 'session_ended', clock.now());
        continue;
      }
      const lease = this.lease();
      let due: Approval;
      if (approval.status === 'pending') {
        if (!(await store.approvals.decide(approval.approvalId, 'expired', EXPIRY, clock.now(), lease)))
          continue;
        due = {
          ...approval,
          status: 'expired',
          decidedBy: EXPIRY,
          decidedAt: new Date(clock.now()).toISOString(),
        };
      } else {
        if (!(await store.approvals.takeDelivery(approval.approvalId, clock.now(), lease))) continue;
        due = approval;
      }
      const wait = await this.readWait(session);
      if (!wait) continue;
      const outcome = await this.deliver(session, [due], correlationId, session.principal, {
        wait,
        maybeAudited: approval.status !== 'pending',
      });
      if (outcome !== 'recorded') settled += 1;
    }
    return settled;
  }

  /**
   * The session's events as a relay sees them: open approvals whose calls it no longer waits on are
   * settled (a confirmation already there marks them delivered; otherwise they close, once, their
   * cards saying why). A session that was stopped, ended or moved on leaves nothing live behind.
   */
  async reconcile(
    session: SessionRecord,
    events: readonly SessionEvent[],
    correlationId: string,
  ): Promise<void> {
    const open = (await this.deps.store.approvals.forSession(session.sessionId)).filter(isOpen);
    if (open.length === 0) return;
    const wait = sessionWait(events);
    await this.settleWith(
      session,
      open.filter((a) => !wait.held.has(a.toolUseId)),
      wait,
      correlationId,
    );
  }

  /** The owner's click on a decision recorded but never delivered: delivered now, unless someone is. */
  private async finish(
    session: SessionRecord,
    approval: Approval,
    correlationId: string,
    clicker: Principal,
  ): Promise<DecisionOutcome> {
    const lease = this.lease();
    if (!(await this.deps.store.approvals.takeDelivery(approval.approvalId, this.deps.clock.now(), lease)))
      return 'recorded';
    const wait = await this.readWait(session);
    if (!wait) return 'recorded';
    return this.deliver(
      session,
      [{ ...approval, deliveryOwner: lease.owner, deliveryUntilMs: lease.untilMs }],
      correlationId,
      clicker,
      {
        wait,
        maybeAudited: true,
      },
    );
  }

  /**
   * Delivers recorded decisions whose lease this process holds: audited first (a decision that
   * cannot be audited is not sent), then one confirmation for all of them. Given the session's
   * events (`wait`), calls already confirmed or no longer held are settled without sending. A send
   * that fails or loses its answer is settled by reading the events again; what is still unsent is
   * left to the sweep.
   */
  private async deliver(
    session: SessionRecord,
    approvals: Approval[],
    correlationId: string,
    actor: Principal,
    known: { wait?: SessionWait | undefined; maybeAudited?: boolean } = {},
  ): Promise<DecisionOutcome> {
    let unsent = approvals;
    if (known.wait) unsent = await this.settleWith(session, approvals, known.wait, correlationId);
    if (unsent.length > 0) {
      try {
        await this.auditDecisions(session, unsent, correlationId, actor, known.maybeAudited ?? false);
      } catch (error) {
        // No confirmation without its audit record (security R46): a fresh decision is taken back,
        // so the call waits for the person again, and the click is refused. One that may have been
        // audited before (a dead process's) stays for the sweep to deliver.
        if (isAuditUnavailable(error) && !known.maybeAudited)
          for (const approval of unsent) await this.deps.store.approvals.undecide(approval);
        throw error;
      }
      try {
        await this.deps.anthropic.beta.sessions.events.send(
          session.sessionId,
          { events: unsent.map(confirmation) },
          { maxRetries: 0, timeout: SEND_TIMEOUT_MS },
        );
        await this.delivered(unsent);
      } catch (error) {
        this.deps.logger.warn('confirmation not confirmed; reading the session', {
          error: String(error),
          correlationId,
        });
        const wait = await this.readWait(session);
        if (!wait || (await this.settleWith(session, unsent, wait, correlationId)).length > 0)
          return 'recorded';
      }
    }
    this.deps.resume(session.sessionId);
    const reread = await Promise.all(approvals.map((a) => this.deps.store.approvals.get(a.approvalId)));
    return reread.every((a) => a?.status === 'closed') ? 'closed' : 'decided';
  }

  /**
   * Settles approvals against what the session has: a confirmation already there means delivered; a
   * call the session no longer waits on closes the approval. Returns those still to be sent.
   */
  private async settleWith(
    session: SessionRecord,
    approvals: Approval[],
    wait: SessionWait,
    correlationId: string,
  ): Promise<Approval[]> {
    const unsent: Approval[] = [];
    for (const approval of approvals) {
      if (wait.confirmed.has(approval.toolUseId)) {
        if (awaitsDelivery(approval)) await this.delivered([approval]);
        else await this.close(session, approval, 'no_longer_held', correlationId);
      } else if (!wait.held.has(approval.toolUseId)) {
        await this.close(session, approval, wait.atRest ? 'session_ended' : 'no_longer_held', correlationId);
      } else {
        unsent.push(approval);
      }
    }
    return unsent;
  }

  private async delivered(approvals: Approval[]): Promise<void> {
    for (const approval of approvals) {
      await this.deps.store.approvals.delivered(approval, this.deps.clock.now());
      await this.showOutcome({ ...approval, deliveredAt: new Date(this.deps.clock.now()).toISOString() });
    }
  }

  /** Closes the approval once (the one winning write audits it and updates its card). */
  private async close(
    session: SessionRecord,
    approval: Approval,
    reason: ClosedReason,
    correlationId: string,
  ): Promise<void> {
    if (!(await this.deps.store.approvals.close(approval, reason, this.deps.clock.now()))) return;
    await this.deps.audit.record({
      action: AuditAction.ApprovalClosed,
      outcome: 'success',
      principal: session.principal,
      target: approval.toolUseId,
      correlationId,
      details: { session: session.sessionId, tool: `${approval.server}.${approval.tool}`, reason },
    });
    await this.showOutcome({ ...approval, status: 'closed', closedReason: reason });
  }

  private async auditDecisions(
    session: SessionRecord,
    approvals: Approval[],
    correlationId: string,
    actor: Principal,
    maybeAudited: boolean,
  ): Promise<void> {
    for (const approval of approvals) {
      // A decision delivered again after a crash is audited once, by whoever got furthest first.
      if (
        maybeAudited &&
        (await this.deps.store.audit.byTarget(approval.toolUseId)).some(
          (r) => r.action === AuditAction.ApprovalDecided,
        )
      )
        continue;
      await this.deps.audit.record({
        action: AuditAction.ApprovalDecided,
        outcome: 'success',
        principal: actor,
        target: approval.toolUseId,
        correlationId,
        details: {
          session: session.sessionId,
          tool: `${approval.server}.${approval.tool}`,
          result: resultOf(approval),
          decidedBy: decidedByText(approval),
          ...decisionFacts(approval),
          arguments: approval.argumentsHash,
        },
      });
    }
  }

  /** A refused click, audited against the person who clicked (security R32, R45). */
  private async refused(
    clicker: Principal,
    target: string,
    correlationId: string,
    session: SessionRecord,
    refusal: { reason: 'not_allowed' } | { reason: 'not_its_message'; clickedOn: MessageRef | undefined },
  ): Promise<void> {
    await this.deps.audit.record({
      action: AuditAction.ApprovalRefused,
      outcome: 'refused',
      principal: clicker,
      target,
      correlationId,
      details: {
        session: session.sessionId,
        owner: session.principalKey,
        reason: refusal.reason,
        ...(refusal.reason === 'not_its_message'
          ? {
              container: refusal.clickedOn
                ? `${refusal.clickedOn.channelId}/${refusal.clickedOn.messageTs}`
                : 'none',
            }
          : {}),
      },
    });
  }

  private async post(session: SessionRecord, approval: Approval, call: McpToolUse): Promise<void> {
    const posted = await this.deps.notices.approvalRequested(session, approval, call);
    if (posted) await this.deps.store.approvals.setMessage(approval.approvalId, posted);
  }

  /** The held calls and confirmations of the session as they are now; undefined when unreadable. */
  private async readWait(session: SessionRecord): Promise<SessionWait | undefined> {
    try {
      return sessionWait(await sessionHistory(this.deps.anthropic, session.sessionId));
    } catch (error) {
      this.deps.logger.warn('could not read the session’s events', { error: String(error) });
      return undefined;
    }
  }

  private lease() {
    return { owner: this.deps.ids.next('dlv'), untilMs: this.deps.clock.now() + DELIVERY_LEASE_MS };
  }

  private async showOutcome(approval: Approval): Promise<void> {
    await this.deps.notices
      .decided(approval)
      .catch((error: unknown) =>
        this.deps.logger.warn('approval message not updated', { error: String(error) }),
      );
  }
}

/** Who decided, as a decision's deny message and audit record say it. */
const STANDING_GRANT = 'standing-grant';
const EXPIRY = 'deputy';

function decidedByText(approval: Approval): string {
  if (approval.decidedBy === STANDING_GRANT) return 'your 15-minute approval';
  if (approval.decidedBy === EXPIRY) return 'nobody in time';
  // Only the session's own person decides. Said in words: the agent may repeat it in its answer,
  // which Slack shows as text, and a raw <@U…> there is noise (issue 20).
  return 'the person who started this session';
}

/**
 * What an audit of a decision says of who decided and how long it took: a person (named), a standing
 * 15-minute grant, or the expiry; and the milliseconds from the call being put to them to the decision.
 */
function decisionFacts(approval: Approval): Record<string, string | number> {
  const via =
    approval.decidedBy === STANDING_GRANT
      ? 'standing_grant'
      : approval.decidedBy === EXPIRY
        ? 'expiry'
        : 'person';
  const requestedMs = approval.requestedAt
    ? Date.parse(approval.requestedAt)
    : approval.expiresAtMs - APPROVAL_TTL_MS;
  const decidedMs = approval.decidedAt ? Date.parse(approval.decidedAt) : Number.NaN;
  return {
    decidedVia: via,
    ...(via === 'person' && approval.decidedBy ? { approver: approval.decidedBy } : {}),
    ...(Number.isFinite(decidedMs) ? { decisionMs: Math.max(0, decidedMs - requestedMs) } : {}),
  };
}

const resultOf = (approval: Approval) => (approval.status === 'allowed' ? 'allow' : 'deny');

function confirmation(approval: Approval) {
  return resultOf(approval) === 'allow'
    ? { type: 'user.tool_confirmation' as const, tool_use_id: approval.toolUseId, result: 'allow' as const }
    : {
        type: 'user.tool_confirmation' as const,
        tool_use_id: approval.toolUseId,
        result: 'deny' as const,
        deny_message: `Denied in Slack by ${decidedByText(approval)}.`,
      };
}

/** What a click on an approval that is no longer pending is told. */
function settledOutcome(approval: Approval): DecisionOutcome {
  if (approval.status === 'closed') return 'closed';
  if (approval.status === 'expired') return 'expired';
  return 'already_decided';
}
