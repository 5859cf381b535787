import { z } from 'zod';
import type { Clock } from '../clock.js';
import { keys } from './keys.js';
import { ShortLived } from './short-lived.js';
import { recordKind, type Table } from './table.js';

/** The models an agent can be set up with. */
export const MODELS = ['claude-sonnet-4-6', 'claude-opus-5-5', 'claude-haiku-4-5'] as const;

const slackUserId = z.string().regex(/^[UW][A-Z0-9_]{2,}$/);
const channelId = z.string().regex(/^[CGD][A-Z0-9_]{2,}$/);
const userGroupId = z.string().regex(/^S[A-Z0-9_]{2,}$/);

export const agentNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,39}$/,
    'Use 1–40 lower-case letters, digits and dashes, starting with a letter or digit.',
  );

/**
 * An agent as admins configure it (docs/architecture.md#agents-and-permissions): which allowed MCP servers,
 * and per tool ask or allow; a tool that is not listed is off. Each setting is bound to the tool's
 * description and schema as the admin reviewed them (`reviewedHash`).
 */
export const agentConfigSchema = z.object({
  name: agentNameSchema,
  description: z.string().max(300),
  model: z.enum(MODELS),
  system: z.string().max(1500),
  servers: z
    .array(
      z.object({
        connectorId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/),
        url: z.string().url(),
        tools: z.record(
          z.string().min(1).max(128),
          z.object({ setting: z.enum(['ask', 'auto', 'allow']), reviewedHash: z.string().min(1) }),
        ),
      }),
    )
    .max(20),
  access: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('everyone') }),
    z.object({
      kind: z.literal('listed'),
      users: z.array(slackUserId).max(100),
      channels: z.array(channelId).max(100),
      userGroups: z.array(userGroupId).max(20),
    }),
  ]),
  /** Who may use tools that may write; absent: everyone who may run the agent. */
  writers: z.array(slackUserId).max(100).optional(),
  spendCeilingUsd: z.number().positive().max(10_000).optional(),
  approverGroup: userGroupId.optional(),
  /**
   * Whether the agent remembers per person: each person's own memory store attached to their
   * sessions, read and write or read only. Absent: it remembers nothing between sessions.
   */
  memory: z.enum(['read_write', 'read_only']).optional(),
  /** Skills the agent has, each pinned to the version chosen (a custom skill's synced version). */
  skills: z
    .array(
      z.object({
        type: z.enum(['custom', 'anthropic']),
        skillId: z.string().min(1),
        name: z.string().min(1),
        version: z.string().min(1),
      }),
    )
    .max(20)
    .optional(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type AgentServer = AgentConfig['servers'][number];

/** A saved agent: the admins' configuration and the Managed Agents agent it was published as. */
const storedAgentSchema = z.object({
  name: z.string(),
  config: agentConfigSchema,
  /** Increments on every save; a save names the version it edited (optimistic concurrency). */
  configVersion: z.number().int(),
  agentId: z.string(),
  agentVersion: z.number().int(),
  /** Fingerprint of the published servers and toolsets. */
  payloadHash: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
});
export type StoredAgent = z.infer<typeof storedAgentSchema>;
const StoredAgentRecord = recordKind('agent', storedAgentSchema);

/** Agents as saved, each read reused for a few seconds (see ShortLived). */
export class Agents {
  private readonly one: ShortLived<StoredAgent | undefined>;
  private readonly all: ShortLived<StoredAgent[]>;

  constructor(
    private readonly table: Table,
    clock: Pick<Clock, 'now'>,
  ) {
    this.one = new ShortLived(clock);
    this.all = new ShortLived(clock);
  }

  get(name: string): Promise<StoredAgent | undefined> {
    return this.one.read(name, () => this.table.get(StoredAgentRecord, keys.agent(name)));
  }

  list(): Promise<StoredAgent[]> {
    return this.all.read('all', () => this.table.query(StoredAgentRecord, keys.agents()));
  }

  /** Writes the agent if its stored version is still `previousVersion` (undefined: it must be new). */
  put(agent: StoredAgent, previousVersion: number | undefined): Promise<boolean> {
    this.one.forget(agent.name);
    this.all.forget();
    return this.table.putIf(
      { ...keys.agent(agent.name), ...agent },
      previousVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: 'configVersion = :previous',
            ExpressionAttributeValues: { ':previous': previousVersion },
          },
    );
  }
}
