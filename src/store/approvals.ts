import { z } from 'zod';
import { keys } from './keys.js';
import { recordKind, type Table } from './table.js';

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired';

/** One tool call held for a person's decision. Its id is what the buttons carry. */
const approvalSchema = z.object({
  approvalId: z.string(),
  sessionId: z.string(),
  toolUseId: z.string(),
  server: z.string(),
  tool: z.string(),
  /** SHA-256 of the canonical arguments the person was shown. */
  argumentsHash: z.string(),
  status: z.enum(['pending', 'allowed', 'denied', 'expired']),
  /** Where the approval message is. */
  channelId: z.string(),
  messageTs: z.string().optional(),
  expiresAtMs: z.number(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
});
export type Approval = z.infer<typeof approvalSchema>;
const ApprovalRecord = recordKind('approval', approvalSchema);

export class Approvals {
  constructor(private readonly table: Table) {}

  /** Records the approval once per tool use; false if this tool use already has one. */
  async create(approval: Approval): Promise<boolean> {
    const once = await this.table.putIf(
      { ...keys.approvalOfToolUse(approval.sessionId, approval.toolUseId), approvalId: approval.approvalId },
      { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    if (!once) return false;
    if (approval.status === 'pending') {
      await this.table.put({
        ...keys.pendingApproval(approval.expiresAtMs, approval.approvalId),
        approvalId: approval.approvalId,
      });
    }
    await this.table.put({
      ...keys.approval(approval.approvalId),
      ...keys.approvalsOfSession(approval.sessionId, approval.toolUseId),
      ...approval,
    });
    return true;
  }

  get(approvalId: string): Promise<Approval | undefined> {
    return this.table.get(ApprovalRecord, keys.approval(approvalId));
  }

  forSession(sessionId: string): Promise<Approval[]> {
    return this.table.query(ApprovalRecord, {
      index: 'gsi1',
      partition: keys.approvalsOfSession(sessionId, '').gsi1pk,
      allPages: true,
    });
  }

  /**
   * The one decision: pending → decided, by one conditional write. A person's decision must also come
   * before the approval's expiry; the expiry itself only after it. False when the condition fails.
   */
  decide(
    approvalId: string,
    status: Exclude<ApprovalStatus, 'pending'>,
    decidedBy: string,
    nowMs: number,
  ): Promise<boolean> {
    return this.table.updateIf(keys.approval(approvalId), {
      UpdateExpression: 'SET #status = :status, decidedBy = :by, decidedAt = :at',
      ConditionExpression: `#status = :pending AND expiresAtMs ${status === 'expired' ? '<=' : '>'} :now`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':status': status,
        ':by': decidedBy,
        ':at': new Date(nowMs).toISOString(),
        ':pending': 'pending',
        ':now': nowMs,
      },
    });
  }

  /** Undoes a decision whose confirmation could not be sent, so it can be decided again. */
  async reopen(approvalId: string, decidedBy: string): Promise<void> {
    await this.table.updateIf(keys.approval(approvalId), {
      UpdateExpression: 'SET #status = :pending REMOVE decidedBy, decidedAt',
      ConditionExpression: 'decidedBy = :by',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'pending', ':by': decidedBy },
    });
  }

  /** Pending approvals whose time ran out before `nowMs`. */
  async expiredBefore(nowMs: number): Promise<string[]> {
    const items = await this.table.queryItems({ ...keys.pendingApprovals(nowMs), allPages: true });
    return items.map((item) => String(item.approvalId));
  }

  /** Drops a decided approval from the pending index. */
  async settled(approval: Pick<Approval, 'approvalId' | 'expiresAtMs'>): Promise<void> {
    await this.table.delete(keys.pendingApproval(approval.expiresAtMs, approval.approvalId));
  }

  async setMessage(approvalId: string, messageTs: string): Promise<void> {
    await this.table.update(keys.approval(approvalId), {
      UpdateExpression: 'SET messageTs = :ts',
      ExpressionAttributeValues: { ':ts': messageTs },
    });
  }
}
