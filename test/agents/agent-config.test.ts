import { describe, expect, test } from '@jest/globals';
import { compileAgent, diffConfigs, mayWrite } from '../../src/agents/agent-config.js';
import type { AgentConfig, CatalogTool } from '../../src/store/index.js';

const URL_A = 'https://a.example/mcp';
const tool = (name: string, hash: string, annotations: Record<string, unknown> = {}): CatalogTool => ({
  serverUrl: URL_A,
  name,
  description: `${name} tool`,
  annotations,
  hash,
  firstSeenAt: '2026-11-22T00:00:00.000Z',
  lastSeenAt: '2026-11-22T00:00:00.000Z',
  changed: false,
});

const base: AgentConfig = {
  name: 'helper',
  description: '',
  model: 'claude-sonnet-4-6',
  system: '',
  servers: [
    {
      connectorId: 'a',
      url: URL_A,
      tools: {
        read: { setting: 'allow', reviewedHash: 'h-read' },
        write: { setting: 'ask', reviewedHash: 'h-write' },
      },
    },
  ],
  access: { kind: 'everyone' },
};

describe('compiling an agent into its Managed Agents payload', () => {
  test('every toolset is deny by default and enables exactly the reviewed ask and allow tools', () => {
    const catalogs = new Map([
      [URL_A, [tool('read', 'h-read'), tool('write', 'h-write'), tool('other', 'h-other')]],
    ]);
    const { mcp_servers, tools } = compileAgent(base, catalogs);
    expect(mcp_servers).toEqual([{ type: 'url', name: 'a', url: URL_A }]);
    expect(tools).toEqual([
      {
        type: 'mcp_toolset',
        mcp_server_name: 'a',
        default_config: { enabled: false },
        configs: [
          { name: 'read', enabled: true, permission_policy: { type: 'always_allow' } },
          { name: 'write', enabled: true, permission_policy: { type: 'always_ask' } },
        ],
      },
    ]);
  });

  test('a tool whose description or schema changed since review, or that is gone, is held back as off', () => {
    const catalogs = new Map([[URL_A, [tool('read', 'h-read-CHANGED')]]]);
    const { tools, status } = compileAgent(base, catalogs);
    expect(tools[0]).toMatchObject({ default_config: { enabled: false }, configs: [] });
    expect(status).toEqual([
      { server: 'a', tool: 'read', setting: 'off', heldBack: 'changed' },
      { server: 'a', tool: 'write', setting: 'off', heldBack: 'missing' },
    ]);
  });

  test('deny by default holds for any mix of settings and catalogs', () => {
    const settings = ['ask', 'allow'] as const;
    for (let seed = 0; seed < 200; seed += 1) {
      const names = Array.from({ length: 1 + (seed % 5) }, (_, i) => `t${i}`);
      const config: AgentConfig = {
        ...base,
        servers: [
          {
            connectorId: 'a',
            url: URL_A,
            tools: Object.fromEntries(
              names
                .filter((_, i) => (seed >> i) & 1)
                .map((n, i) => [n, { setting: settings[(seed + i) % 2] ?? 'ask', reviewedHash: `h-${n}` }]),
            ),
          },
        ],
      };
      const catalog = names
        .filter((_, i) => (seed >> (i + 2)) & 1)
        .map((n) => tool(n, seed % 3 === 0 ? `h-${n}-x` : `h-${n}`));
      const { tools } = compileAgent(config, new Map([[URL_A, catalog]]));
      for (const toolset of tools) {
        if (toolset.type !== 'mcp_toolset') throw new Error('unexpected toolset');
        expect(toolset.default_config).toEqual({ enabled: false });
        for (const entry of toolset.configs ?? []) {
          const choice = config.servers[0]?.tools[entry.name];
          const seen = catalog.find((t) => t.name === entry.name);
          expect(choice).toBeDefined();
          expect(seen?.hash).toBe(choice?.reviewedHash);
        }
      }
    }
  });
});

describe('reading tools and changes', () => {
  test('only the catalog’s own read-only list spares a tool; the server’s readOnlyHint never does', () => {
    expect(mayWrite('search', ['search', 'fetch'])).toBe(false);
    expect(mayWrite('create', ['search'])).toBe(true);
    expect(mayWrite('search')).toBe(true);
  });

  test('the diff names each changed field and tool setting, and never the prompt itself', () => {
    const after: AgentConfig = {
      ...base,
      system: 'secret-ish instructions',
      servers: [
        {
          ...base.servers[0],
          tools: { read: { setting: 'ask', reviewedHash: 'h-read' } },
        } as AgentConfig['servers'][number],
      ],
    };
    const diff = diffConfigs(base, after);
    expect(diff).toEqual([
      expect.stringMatching(/^system: sha256:\w+ → sha256:\w+$/),
      'a.read: allow → ask',
      'a.write: ask → off',
    ]);
    expect(diff.join()).not.toContain('secret-ish');
    expect(diffConfigs(undefined, base)).toContain('servers: +a');
  });
});
