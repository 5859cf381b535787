import { describe, expect, test } from '@jest/globals';
import type { KnownBlock, ModalView } from '@slack/types';
import type { ServerEntry } from '../../src/agents/server-list.js';
import type { ToolsStep, ToolsStepServer } from '../../src/agents/setup.js';
import { serversModal, setupBasicsModal, setupToolsModal } from '../../src/blocks/agents.js';
import type { Connector } from '../../src/connections/catalog.js';
import type { CatalogTool } from '../../src/store/index.js';

// Block Kit limits Slack enforces on views (the emulator does not, so they are checked here).
const LIMITS = {
  blocks: 100,
  blockId: 255,
  optionText: 75,
  label: 2000,
  hint: 2000,
  header: 150,
  sectionText: 3000,
};

const long = (n: number) => 'x'.repeat(n);
const connector = (i: number): Connector => ({
  id: `server-${i}`,
  name: `Server ${i} ${long(200)}`,
  mcpServerUrl: `https://s${i}.example/mcp`,
  auth: { type: 'mcp_oauth' },
  source: 'allow_list',
});
const tool = (server: number, i: number): CatalogTool => ({
  serverUrl: `https://s${server}.example/mcp`,
  name: `tool_${i}_${long(300)}`,
  description: long(5000),
  annotations: { readOnlyHint: i % 2 === 0 },
  hash: `hash-${server}-${i}`,
  firstSeenAt: '2026-11-22T00:00:00.000Z',
  lastSeenAt: '2026-11-22T00:00:00.000Z',
  changed: i % 3 === 0,
});

function checkView(view: ModalView) {
  expect(view.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  for (const block of view.blocks as Array<KnownBlock & Record<string, unknown>>) {
    if (typeof block.block_id === 'string') expect(block.block_id.length).toBeLessThanOrEqual(LIMITS.blockId);
    const json = block as unknown as {
      type: string;
      label?: { text: string };
      hint?: { text: string };
      text?: { text: string };
      element?: { options?: Array<{ text: { type: string; text: string } }> };
    };
    if (json.label) expect(json.label.text.length).toBeLessThanOrEqual(LIMITS.label);
    if (json.hint) expect(json.hint.text.length).toBeLessThanOrEqual(LIMITS.hint);
    if (json.type === 'header' && json.text) expect(json.text.text.length).toBeLessThanOrEqual(LIMITS.header);
    if (json.type === 'section' && json.text)
      expect(json.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    for (const option of json.element?.options ?? []) {
      if (option.text.type === 'plain_text')
        expect(option.text.text.length).toBeLessThanOrEqual(LIMITS.optionText);
    }
  }
  expect(view.private_metadata?.length ?? 0).toBeLessThanOrEqual(3000);
}

describe('admin views stay within Block Kit limits', () => {
  const servers: ToolsStepServer[] = Array.from({ length: 20 }, (_, s) => ({
    connector: connector(s),
    tools: Array.from({ length: 12 }, (_, t) => tool(s, t)),
  }));

  test('the tools step, with 20 servers of 12 long-named tools and a long confirmation', () => {
    const writes = servers.flatMap((s) => s.tools.map((t) => t.name)).slice(0, 40);
    const metadata: ToolsStep['metadata'] = {
      step: 'tools',
      basics: {
        name: 'limits',
        description: '',
        model: 'claude-sonnet-4-6',
        system: '',
        serverIds: servers.map((s) => s.connector.id),
        access: { kind: 'everyone' },
      },
    };
    checkView(
      setupToolsModal({ metadata, servers, settings: new Map(), confirmWrites: writes, notice: long(5000) }),
    );
    checkView(setupToolsModal({ metadata, servers, settings: new Map() }));
  });

  test('the server list, with 60 servers', () => {
    const entries: ServerEntry[] = Array.from({ length: 60 }, (_, i) => ({
      connector: connector(i),
      removable: true,
      tools: [tool(i, 1), tool(i, 2)],
      refreshedAt: '2026-11-22T00:00:00.000Z',
    }));
    checkView(serversModal(entries, long(5000)));
  });

  test('the basics step, with 150 servers on the allow list and 150 skills offered', () => {
    const skills = Array.from({ length: 150 }, (_, i) => ({
      type: 'custom' as const,
      skillId: `skill_${i}`,
      name: `skill-${i}-${'x'.repeat(60)}`,
      version: `skillver_${i}`,
    }));
    checkView(
      setupBasicsModal(
        Array.from({ length: 150 }, (_, i) => connector(i)),
        skills,
      ),
    );
  });
});
