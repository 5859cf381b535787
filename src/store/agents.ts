import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AgentConfig } from '../agents/agent-config.js';
import { applied, type DynamoHandle } from './dynamo.js';

/** A saved agent: the admins' configuration and the Managed Agents agent it was published as. */
export interface StoredAgent {
  name: string;
  config: AgentConfig;
  /** Increments on every save; a save names the version it edited (optimistic concurrency). */
  configVersion: number;
  agentId: string;
  agentVersion: number;
  /** Fingerprint of the published servers and toolsets. */
  payloadHash: string;
  updatedBy: string;
  updatedAt: string;
}

const key = (name: string) => ({ pk: 'AGENTS', sk: `AGENT#${name}` });

export class Agents {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  async get(name: string): Promise<StoredAgent | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: key(name), ConsistentRead: true }),
    );
    return Item ? strip(Item) : undefined;
  }

  async list(): Promise<StoredAgent[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :agent)',
        ExpressionAttributeValues: { ':pk': 'AGENTS', ':agent': 'AGENT#' },
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map(strip);
  }

  /** Writes the agent if its stored version is still `previousVersion` (undefined: it must be new). */
  put(agent: StoredAgent, previousVersion: number | undefined): Promise<boolean> {
    return applied(
      this.dynamo.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...key(agent.name), ...agent },
          ...(previousVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'configVersion = :previous',
                ExpressionAttributeValues: { ':previous': previousVersion },
              }),
        }),
      ),
    );
  }
}

function strip(item: Record<string, unknown>): StoredAgent {
  const { pk: _pk, sk: _sk, ...agent } = item;
  return agent as unknown as StoredAgent;
}
