import type { ServerEntry } from '../../../blocks/agents.js';
import type { Services } from '../../../services.js';

/** The allowed servers with their tool catalogs, for `/agent servers`. */
export async function serverEntries(services: Services): Promise<ServerEntry[]> {
  const catalog = await services.connections.catalog();
  return Promise.all(
    catalog.map(async (connector) => {
      const [tools, refreshedAt] = await Promise.all([
        services.store.toolCatalog.list(connector.mcpServerUrl),
        services.store.toolCatalog.refreshedAt(connector.mcpServerUrl),
      ]);
      return {
        connector,
        removable: connector.source === 'allow_list',
        tools,
        ...(refreshedAt ? { refreshedAt } : {}),
      };
    }),
  );
}
