import { createHash } from 'node:crypto';
import { z } from 'zod';
import { epochSeconds } from './dynamo.js';
import { keys } from './keys.js';
import type { Table } from './table.js';
import { EXPIRY_ATTRIBUTE } from './tables.js';

/**
 * Which process relays which session (docs/architecture.md#relays). Three kinds of item:
 *
 * - a **node** per running process, renewed by one unconditional write per tick: the process is
 *   alive while its `untilMs` is ahead;
 * - a **shard** lease per slice of the sessions (`RELAY_SHARDS` of them), naming the node that
 *   adopts what that slice's dead nodes left; valid while its node is alive, so it is never renewed;
 * - an **active** item per session whose relay has work, in its shard's own partition, naming the
 *   node relaying it (`relayNode`) and counting the wakes asked of it (`wakes`): a relay lets its
 *   session rest only if nobody woke it meanwhile.
 */
export const RELAY_SHARDS = 16;

/** A session's shard: a stable hash of its id. */
export function shardOf(sessionId: string): number {
  return createHash('sha256').update(sessionId).digest().readUInt32BE(0) % RELAY_SHARDS;
}

const activeItemSchema = z.object({
  sessionId: z.string().min(1),
  relayNode: z.string().min(1).optional(),
  wakes: z.number().int().nonnegative().optional(),
  /** The wakes counted when its relay let it wait (for a decision) with no claim held. */
  restedWakes: z.number().int().nonnegative().optional(),
});
export type ActiveSession = z.infer<typeof activeItemSchema>;

/**
 * Whether a session needs a relay that it does not have: its node is not among `live`, or nobody
 * holds it and it was woken since its relay let it wait.
 */
export function unrelayed(item: ActiveSession, live: ReadonlySet<string>): boolean {
  if (item.relayNode) return !live.has(item.relayNode);
  return (item.wakes ?? 0) > (item.restedWakes ?? -1);
}

const nodeItemSchema = z.object({ nodeId: z.string().min(1), untilMs: z.number() });
const shardItemSchema = z.object({ shard: z.number().int().nonnegative(), owner: z.string().min(1) });

/** What a claim found: the wakes counted so far, which the relay hands back when it lets the session rest. */
export interface RelayClaim {
  wakes: number;
}

export class RelayIndex {
  constructor(private readonly table: Table) {}

  /** This node is alive until `untilMs`. */
  async heartbeat(nodeId: string, untilMs: number): Promise<void> {
    await this.table.put({
      ...keys.relayNode(nodeId),
      nodeId,
      untilMs,
      [EXPIRY_ATTRIBUTE]: epochSeconds(untilMs),
    });
  }

  /** The nodes alive at `nowMs`. */
  async liveNodes(nowMs: number): Promise<Set<string>> {
    const items = await this.table.queryItems({ ...keys.relayNodes(), allPages: true });
    const live = new Set<string>();
    for (const item of items) {
      const node = nodeItemSchema.safeParse(item);
      if (node.success && node.data.untilMs > nowMs) live.add(node.data.nodeId);
    }
    return live;
  }

  /** The node stops: its shards and the sessions it relayed go to the others. */
  async leave(nodeId: string): Promise<void> {
    await this.table.delete(keys.relayNode(nodeId));
  }

  /** Every shard that has an owner, and who. */
  async shardOwners(): Promise<Map<number, string>> {
    const items = await this.table.queryItems({ ...keys.relayShards(), allPages: true });
    const owners = new Map<number, string>();
    for (const item of items) {
      const shard = shardItemSchema.safeParse(item);
      if (shard.success) owners.set(shard.data.shard, shard.data.owner);
    }
    return owners;
  }

  /** Takes the shard if it still has the owner seen (`from`: none, or a node found dead). */
  takeShard(shard: number, nodeId: string, from: string | undefined): Promise<boolean> {
    return this.table.putIf(
      { ...keys.relayShard(shard), shard, owner: nodeId },
      from
        ? {
            ConditionExpression: '#owner = :from',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':from': from },
          }
        : { ConditionExpression: 'attribute_not_exists(pk)' },
    );
  }

  /** Gives the shard up (another node takes it at its next tick). */
  releaseShard(shard: number, nodeId: string): Promise<boolean> {
    return this.table.deleteIf(keys.relayShard(shard), {
      ConditionExpression: '#owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':me': nodeId },
    });
  }

  /**
   * Sessions of one shard whose relay has work, read page by page (`pageSize` items a page; the
   * default is DynamoDB's own page of up to 1 MB).
   */
  async active(shard: number, pageSize?: number): Promise<ActiveSession[]> {
    const items = await this.table.queryItems({
      ...keys.activeSessions(shard),
      allPages: true,
      ...(pageSize ? { limit: pageSize } : {}),
    });
    return items.flatMap((item) => {
      const parsed = activeItemSchema.safeParse(item);
      return parsed.success ? [parsed.data] : [];
    });
  }

  async get(sessionId: string): Promise<ActiveSession | undefined> {
    const item = await this.table.getItem(keys.activeSession(shardOf(sessionId), sessionId));
    const parsed = activeItemSchema.safeParse(item);
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Claims the session's relay for `nodeId` if nobody relays it, this node does, or `from` (a node
   * found dead) did; with `wake`, counts a wake too (the claim and the wake are one write). Marks
   * the session active if it was not. Undefined when another node holds it.
   */
  async claim(
    sessionId: string,
    nodeId: string,
    options: { wake?: boolean; from?: string } = {},
  ): Promise<RelayClaim | undefined> {
    const item = await this.table.updateIfReturning(keys.activeSession(shardOf(sessionId), sessionId), {
      UpdateExpression: `SET sessionId = :id, relayNode = :me${options.wake ? ' ADD wakes :one' : ''}`,
      ConditionExpression: `attribute_not_exists(relayNode) OR relayNode = :me${options.from ? ' OR relayNode = :from' : ''}`,
      ExpressionAttributeValues: {
        ':id': sessionId,
        ':me': nodeId,
        ...(options.wake ? { ':one': 1 } : {}),
        ...(options.from ? { ':from': options.from } : {}),
      },
    });
    if (!item) return undefined;
    return { wakes: typeof item.wakes === 'number' ? item.wakes : 0 };
  }

  /**
   * Asks whoever relays the session to go round once more (it was woken while relayed elsewhere).
   * Marks it active if it was not, with nobody relaying it: the shard's owner adopts it.
   */
  async wake(sessionId: string): Promise<ActiveSession> {
    const item = await this.table.update(keys.activeSession(shardOf(sessionId), sessionId), {
      UpdateExpression: 'SET sessionId = :id ADD wakes :one',
      ExpressionAttributeValues: { ':id': sessionId, ':one': 1 },
    });
    return activeItemSchema.parse(item);
  }

  /**
   * The relay lets its session rest, unless someone woke it since the relay saw `claim.wakes`
   * (false: go round again) or another node took it over. A session whose turn ended leaves the
   * index; one waiting for a decision stays in it (it is live) with no claim.
   */
  release(sessionId: string, nodeId: string, claim: RelayClaim, waiting: boolean): Promise<boolean> {
    const key = keys.activeSession(shardOf(sessionId), sessionId);
    const condition = {
      ConditionExpression: `relayNode = :me AND ${claim.wakes === 0 ? '(attribute_not_exists(wakes) OR wakes = :wakes)' : 'wakes = :wakes'}`,
      ExpressionAttributeValues: { ':me': nodeId, ':wakes': claim.wakes },
    };
    if (!waiting) return this.table.deleteIf(key, condition);
    return this.table.updateIf(key, {
      UpdateExpression: 'REMOVE relayNode SET restedWakes = :wakes',
      ...condition,
    });
  }

  /** Every live session (relayed, or waiting for a decision), shard by shard, page by page. */
  async live(): Promise<string[]> {
    const shards = await Promise.all(Array.from({ length: RELAY_SHARDS }, (_, shard) => this.active(shard)));
    return shards.flat().map((item) => item.sessionId);
  }

  /** The session is gone (purged): nothing is left to relay. */
  async remove(sessionId: string): Promise<void> {
    await this.table.delete(keys.activeSession(shardOf(sessionId), sessionId));
  }

  /**
   * Sessions marked active by the release before relays were sharded, under one partition: each
   * is moved into its shard (unclaimed, so the shard's owner adopts it). One release only.
   */
  async moveUnsharded(): Promise<number> {
    const items = await this.table.queryItems({ ...keys.unshardedActiveSessions(), allPages: true });
    for (const item of items) {
      const sessionId = typeof item.sessionId === 'string' ? item.sessionId : undefined;
      if (!sessionId) continue;
      await this.wake(sessionId);
      await this.table.delete(keys.unshardedActiveSession(sessionId));
    }
    return items.length;
  }
}
