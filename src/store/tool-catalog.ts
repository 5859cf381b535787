import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoHandle } from './dynamo.js';

/** One tool of an MCP server as last seen. `changed` is set when its description or schema hash moved. */
export interface CatalogTool {
  serverUrl: string;
  name: string;
  description: string;
  annotations: Record<string, unknown>;
  hash: string;
  firstSeenAt: string;
  lastSeenAt: string;
  changed: boolean;
  changedAt?: string;
}

export interface RecordedListing {
  tools: CatalogTool[];
  /** Tools seen for the first time. */
  added: string[];
  /** Tools whose description or schema moved since they were last seen. */
  changed: string[];
}

export interface SeenTool {
  name: string;
  description: string;
  annotations: Record<string, unknown>;
  hash: string;
}

const toolKey = (serverUrl: string, name: string) => ({ pk: `SERVER#${serverUrl}`, sk: `TOOL#${name}` });

/** The tool catalog per MCP server, refreshed whenever a fresh token lets Deputy list the tools. */
export class ToolCatalog {
  constructor(
    private readonly dynamo: DynamoHandle,
    private readonly table: string,
  ) {}

  /** Records a fresh listing; says which tools are new and which changed since last seen. */
  async record(serverUrl: string, tools: SeenTool[], at: string): Promise<RecordedListing> {
    const recorded: CatalogTool[] = [];
    const added: string[] = [];
    const changed: string[] = [];
    for (const tool of tools) {
      const { Item } = await this.dynamo.doc.send(
        new GetCommand({ TableName: this.table, Key: toolKey(serverUrl, tool.name), ConsistentRead: true }),
      );
      const previous = Item as CatalogTool | undefined;
      const movedNow = previous !== undefined && previous.hash !== tool.hash;
      if (!previous) added.push(tool.name);
      if (movedNow) changed.push(tool.name);
      const entry: CatalogTool = {
        serverUrl,
        ...tool,
        firstSeenAt: previous?.firstSeenAt ?? at,
        lastSeenAt: at,
        // A change stays marked until an admin reviews it (the agent-setup feature clears it).
        changed: movedNow || (previous?.changed ?? false),
        ...(movedNow ? { changedAt: at } : previous?.changedAt ? { changedAt: previous.changedAt } : {}),
      };
      await this.dynamo.doc.send(
        new PutCommand({ TableName: this.table, Item: { ...toolKey(serverUrl, tool.name), ...entry } }),
      );
      recorded.push(entry);
    }
    await this.dynamo.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `SERVER#${serverUrl}`, sk: 'REFRESHED', serverUrl, refreshedAt: at },
      }),
    );
    return { tools: recorded, added, changed };
  }

  /** When the server's tools were last listed, if ever. */
  async refreshedAt(serverUrl: string): Promise<string | undefined> {
    const { Item } = await this.dynamo.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: `SERVER#${serverUrl}`, sk: 'REFRESHED' } }),
    );
    return typeof Item?.refreshedAt === 'string' ? Item.refreshedAt : undefined;
  }

  async list(serverUrl: string): Promise<CatalogTool[]> {
    const { Items } = await this.dynamo.doc.send(
      new QueryCommand({
        TableName: this.table,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tool)',
        ExpressionAttributeValues: { ':pk': `SERVER#${serverUrl}`, ':tool': 'TOOL#' },
      }),
    );
    return (Items ?? []).map(({ pk: _pk, sk: _sk, ...tool }) => tool as CatalogTool);
  }
}
