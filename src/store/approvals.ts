import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired' | 'closed';
/** Why an approval closed without its decision reaching the session: the session no longer waited on it. */
export type ClosedReason = 'session_ended' | 'no_longer_held';

/** Who is sending a decision to the session now, and until when nobody else may. */
export interface DeliveryLease {
  owner: string;
  untilMs: number;
}

/**
 * One tool call held for a person's decision. Its id is what the buttons carry. A decision is
 * recorded first and delivered second (one `user.tool_confirmation`); `deliveredAt` or `closedReason`
 * ends it, and until then it stays in the open index for the sweep.
 */
const approvalSchema = z.object({
  approvalId: z.string(),
  sessionId: z.string(),
  toolUseId: z.string(),
  server: z.string(),
  tool: z.string(),
  /** SHA-256 of the canonical arguments the person was shown. */
  argumentsHash: z.string(),
  status: z.enum(['pending', 'allowed', 'denied', 'expired', 'closed']),
  /** Where the approval message is: a click on it must come from exactly there. */
  channelId: z.string(),
  messageTs: z.string().optional(),
  expiresAtMs: z.number(),
  /** When the call was put to the person (absent on approvals from before it was kept). */
  requestedAt: z.string().optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  /** The process sending the decision, and until when its claim holds. */
  deliveryOwner: z.string().optional(),
  deliveryUntilMs: z.number().optional(),
  /** When the session was found to have the decision (sent, or found already there). */
  deliveredAt: z.string().optional(),
  closedReason: z.enum(['session_ended', 'no_longer_held']).optional(),
  closedAt: z.string().optional(),
});
export type Approval = z.infer<typeof approvalSchema>;
const ApprovalRecord = recordKind('approval', approvalSchema);

/** Decided (or expired) and not yet delivered nor closed: its confirmation still has to reach the session. */
export const awaitsDelivery = (a: Approval): boolean =>
  a.status !== 'pending' && a.status !== 'closed' && !a.deliveredAt;

/** Still needs something done: a decision, or the delivery of one. */
export const isOpen = (a: Approval): boolean => a.status === 'pending' || awaitsDelivery(a);

export class Approvals {
  constructor(private readonly table: Table) {}

  /**
   * Claims the tool use (one approval per call), indexes the approval as open and writes it. The
   * claim names the approval, so a call seen again after a crash finds the one it already has.
   */
  async create(approval: Approval): Promise<{ approval: Approval; created: boolean }> {
    const claimed = await this.table.putIf(
      { ...keys.approvalOfToolUse(approval.sessionId, approval.toolUseId), approvalId: approval.approvalId },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    if (!claimed) {
      const claim = await this.table.getItem(keys.approvalOfToolUse(approval.sessionId, approval.toolUseId));
      const approvalId = String(claim?.approvalId);
      const existing = await this.get(approvalId);
      if (existing) return { approval: existing, created: false };
      // The claim was written and the process died before the approval was: finish writing it.
      approval = { ...approval, approvalId };
    }
    await this.table.put({
      ...keys.openApproval(approval.expiresAtMs, approval.approvalId),
      approvalId: approval.approvalId,
    });
    await this.table.put({
      ...keys.approval(approval.approvalId),
      ...keys.approvalsOfSession(approval.sessionId, approval.toolUseId),
      ...approval,
    });
    return { approval, created: true };
  }

  get(approvalId: string): Promise<Approval | undefined> {
    return this.table.get(ApprovalRecord, keys.approval(approvalId));
  }

  /** Several approvals in batch reads, in order (undefined for one that is gone). */
  getMany(approvalIds: string[]): Promise<Array<Approval | undefined>> {
    return this.table.getAll(ApprovalRecord, approvalIds.map(keys.approval));
  }

  /** Deletes every approval of the session, with its tool-call claim and its place in the open index. */
  async purgeSession(sessionId: string): Promise<number> {
    const approvals = await this.forSession(sessionId);
    for (const approval of approvals) {
      await this.table.delete(keys.approvalOfToolUse(approval.sessionId, approval.toolUseId));
      await this.unindex(approval);
      await this.table.delete(keys.approval(approval.approvalId));
    }
    return approvals.length;
  }

  forSession(sessionId: string): Promise<Approval[]> {
    return this.table.query(ApprovalRecord, {
      index: 'gsi1',
      partition: keys.approvalsOfSession(sessionId, '').gsi1pk,
      allPages: true,
    });
  }

  /**
   * The one decision: pending → decided, by one conditional write that also gives the decider the
   * delivery lease. A person's decision must come before the approval's expiry; the expiry itself
   * only after it. False when the condition fails.
   */
  decide(
    approvalId: string,
    status: 'allowed' | 'denied' | 'expired',
    decidedBy: string,
    nowMs: number,
    lease: DeliveryLease,
  ): Promise<boolean> {
    return this.table.updateIf(keys.approval(approvalId), {
      UpdateExpression:
        'SET #status = :status, decidedBy = :by, decidedAt = :at, deliveryOwner = :owner, deliveryUntilMs = :until',
      ConditionExpression: `#status = :pending AND expiresAtMs ${status === 'expired' ? '<=' : '>'} :now`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':status': status,
        ':by': decidedBy,
        ':at': new Date(nowMs).toISOString(),
        ':pending': 'pending',
        ':now': nowMs,
        ':owner': lease.owner,
        ':until': lease.untilMs,
      },
    });
  }

  /**
   * Takes over the delivery of a decision nobody is delivering (its lease lapsed: the process that
   * recorded it died, or its send failed). False when it was delivered, closed or is being delivered.
   */
  takeDelivery(approvalId: string, nowMs: number, lease: DeliveryLease): Promise<boolean> {
    return this.table.updateIf(keys.approval(approvalId), {
      UpdateExpression: 'SET deliveryOwner = :owner, deliveryUntilMs = :until',
      ConditionExpression:
        '#status IN (:allowed, :denied, :expired) AND attribute_not_exists(deliveredAt) AND ' +
        '(attribute_not_exists(deliveryUntilMs) OR deliveryUntilMs <= :now OR deliveryOwner = :owner)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':allowed': 'allowed',
        ':denied': 'denied',
        ':expired': 'expired',
        ':now': nowMs,
        ':owner': lease.owner,
        ':until': lease.untilMs,
      },
    });
  }

  /**
   * A decision whose audit record could not be written is taken back by whoever recorded it, unless
   * it reached the session: the call waits for a decision again (security R46).
   */
  undecide(approval: Pick<Approval, 'approvalId' | 'deliveryOwner'>): Promise<boolean> {
    return this.table.updateIf(keys.approval(approval.approvalId), {
      UpdateExpression: 'SET #status = :pending REMOVE decidedBy, decidedAt, deliveryOwner, deliveryUntilMs',
      ConditionExpression: 'deliveryOwner = :owner AND attribute_not_exists(deliveredAt)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'pending', ':owner': approval.deliveryOwner ?? '' },
    });
  }

  /** The session has the decision: the approval is done, and leaves the open index. */
  async delivered(approval: Pick<Approval, 'approvalId' | 'expiresAtMs'>, nowMs: number): Promise<void> {
    await this.table.update(keys.approval(approval.approvalId), {
      UpdateExpression: 'SET deliveredAt = :at REMOVE deliveryOwner, deliveryUntilMs',
      ExpressionAttributeValues: { ':at': new Date(nowMs).toISOString() },
    });
    await this.unindex(approval);
  }

  /**
   * The session no longer waits on the call (it was stopped, ended, or moved on): the approval closes,
   * once, whatever its decision, unless that decision already reached the session. True for the one
   * write that closed it.
   */
  async close(approval: Approval, reason: ClosedReason, nowMs: number): Promise<boolean> {
    const closed = await this.table.updateIf(keys.approval(approval.approvalId), {
      UpdateExpression: 'SET #status = :closed, closedReason = :reason, closedAt = :at',
      ConditionExpression: '#status <> :closed AND attribute_not_exists(deliveredAt)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':closed': 'closed',
        ':reason': reason,
        ':at': new Date(nowMs).toISOString(),
      },
    });
    if (closed) await this.unindex(approval);
    return closed;
  }

  /** Every open approval's id (undecided, or decided and not yet delivered), soonest expiry first. */
  async open(): Promise<Array<{ approvalId: string; expiresAtMs: number }>> {
    const items = await this.table.queryItems({ ...keys.openApprovals(), allPages: true });
    return items.map((item) => ({
      approvalId: String(item.approvalId),
      expiresAtMs: Number(String(item.sk).split('#')[0]),
    }));
  }

  /** Drops an approval from the open index (done, or gone). */
  async unindex(approval: Pick<Approval, 'approvalId' | 'expiresAtMs'>): Promise<void> {
    await this.table.delete(keys.openApproval(approval.expiresAtMs, approval.approvalId));
  }

  async setMessage(approvalId: string, messageTs: string): Promise<void> {
    await this.table.update(keys.approval(approvalId), {
      UpdateExpression: 'SET messageTs = :ts',
      ExpressionAttributeValues: { ':ts': messageTs },
    });
  }
}
