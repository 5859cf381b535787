import { z } from 'zod';
import type { Clock } from '../clock.js';
import { keys } from './keys.js';
import { ShortLived } from './short-lived.js';
import { recordKind, type Table } from './table.js';

/** One tool of an MCP server as last seen. `changed` is set when its description or schema hash moved. */
const catalogToolSchema = z.object({
  serverUrl: z.string(),
  name: z.string(),
  description: z.string(),
  annotations: z.record(z.string(), z.unknown()),
  hash: z.string(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  changed: z.boolean(),
  changedAt: z.string().optional(),
});
export type CatalogTool = z.infer<typeof catalogToolSchema>;
const CatalogToolRecord = recordKind('catalog tool', catalogToolSchema);
const RefreshedRecord = recordKind('catalog refresh', z.object({ refreshedAt: z.string() }));

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

/** The tool catalog per MCP server, refreshed whenever a fresh token lets Deputy list the tools. */
export class ToolCatalog {
  /** Each server's tools and when they were listed, reused for a few seconds (see ShortLived). */
  private readonly tools: ShortLived<CatalogTool[]>;
  private readonly refreshed: ShortLived<string | undefined>;

  constructor(
    private readonly table: Table,
    clock: Pick<Clock, 'now'>,
  ) {
    this.tools = new ShortLived(clock);
    this.refreshed = new ShortLived(clock);
  }

  /** Records a fresh listing; says which tools are new and which changed since last seen. */
  async record(serverUrl: string, tools: SeenTool[], at: string): Promise<RecordedListing> {
    try {
      return await this.write(serverUrl, tools, at);
    } finally {
      this.tools.forget(serverUrl);
      this.refreshed.forget(serverUrl);
    }
  }

  private async write(serverUrl: string, tools: SeenTool[], at: string): Promise<RecordedListing> {
    const recorded: CatalogTool[] = [];
    const added: string[] = [];
    const changed: string[] = [];
    for (const tool of tools) {
      const previous = await this.table.get(CatalogToolRecord, keys.catalogTool(serverUrl, tool.name));
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
      await this.table.put({ ...keys.catalogTool(serverUrl, tool.name), ...entry });
      recorded.push(entry);
    }
    await this.table.put({ ...keys.catalogRefreshed(serverUrl), serverUrl, refreshedAt: at });
    return { tools: recorded, added, changed };
  }

  /** When the server's tools were last listed, if ever. */
  refreshedAt(serverUrl: string): Promise<string | undefined> {
    return this.refreshed.read(
      serverUrl,
      async () => (await this.table.get(RefreshedRecord, keys.catalogRefreshed(serverUrl)))?.refreshedAt,
    );
  }

  list(serverUrl: string): Promise<CatalogTool[]> {
    return this.tools.read(serverUrl, () =>
      this.table.query(CatalogToolRecord, keys.catalogTools(serverUrl)),
    );
  }
}
