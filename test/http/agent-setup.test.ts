import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ProviderEmulator } from '../../sandbox/provider/emulator.js';
import type { ToolSetting } from '../../src/agents/agent-config.js';
import { confirmationValue, settingValue } from '../../src/agents/setup.js';
import { SkillSync } from '../../src/agents/skills.js';
import { toolBlockId } from '../../src/blocks/agents.js';
import { connectLink, runConnect } from '../support/connect.js';
import { type Harness, modalOpenedBy, startHarness } from '../support/harness.js';
import { agentAnswers } from '../support/sessions.js';

let h: Harness;
let extra: ProviderEmulator;
beforeAll(async () => {
  h = await startHarness();
  extra = await ProviderEmulator.start({ name: 'Wiki' });
  // Someone connects Notion, so its tool catalog is known.
  const run = await runConnect(h, await connectLink(h, 'U_ADMIN', 'notion'), {
    signedInAs: 'U_ADMIN',
    account: 'acct_carol',
  });
  expect(run.page.url).toBe(`${h.url}/connect/done/connected`);
});
afterAll(async () => {
  await h.close();
  await extra.close();
});

type View = {
  id: string;
  callback_id: string;
  private_metadata: string;
  blocks: Array<{ block_id?: string; type: string }>;
};

const select = (value: string) => ({ value: { type: 'static_select', selected_option: { value } } });
const text = (value: string) => ({ value: { type: 'plain_text_input', value } });
const radio = (value: string) => ({ value: { type: 'radio_buttons', selected_option: { value } } });
const multi = (values: string[]) => ({
  value: { type: 'multi_static_select', selected_options: values.map((value) => ({ value })) },
});

const openedBy = (userId: string, commandText: string) => modalOpenedBy<View>(h, userId, commandText);

function agentRequests() {
  return h.sandbox.managedAgents.requests.filter(
    (r) => r.method === 'POST' && r.path.startsWith('/v1/agents'),
  );
}

async function submit(userId: string, view: View, stateValues: Record<string, Record<string, unknown>>) {
  return h.driver.viewSubmission(userId, {
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata,
    stateValues,
  });
}

const notionUrl = () => h.sandbox.providers.notion.mcpUrl;

/** `/agent setup researcher`, its basics submitted unchanged: the tools step it leads to. */
async function toolsStepOfResearcher(): Promise<View> {
  const basics = await openedBy('U_ADMIN', 'setup researcher');
  const step = await submit('U_ADMIN', basics, {
    agent_model: select('claude-sonnet-4-6'),
    agent_servers: multi(['notion']),
    agent_access: radio('everyone'),
  });
  return (step.json as { view: View }).view;
}

/** The tools step's state for these settings, each made on the tool's current version (others off). */
async function toolChoices(choices: Record<string, ToolSetting>, seen?: Record<string, string>) {
  const catalog = await h.store.toolCatalog.list(notionUrl());
  return Object.fromEntries(
    catalog.map((t) => [
      toolBlockId('notion', t.name),
      select(settingValue(choices[t.name] ?? 'off', seen?.[t.name] ?? t.hash)),
    ]),
  );
}

const confirmed = (tools: string[]) => ({
  value: { type: 'checkboxes', selected_options: [{ value: confirmationValue(tools) }] },
});

describe('/agent setup', () => {
  test('creating an agent: basics, then tools, publishes exactly the deny-by-default agent', async () => {
    const basics = await openedBy('U_ADMIN', 'setup');
    expect(basics.callback_id).toBe('admin_setup_basics');
    const step = await submit('U_ADMIN', basics, {
      agent_name: text('researcher'),
      agent_description: text('Reads Notion'),
      agent_model: select('claude-sonnet-4-6'),
      agent_servers: multi(['notion']),
      agent_access: radio('everyone'),
    });
    const tools = (step.json as { response_action: string; view: View }).view;
    expect((step.json as { response_action: string }).response_action).toBe('update');
    const catalog = await h.store.toolCatalog.list(notionUrl());
    expect(tools.blocks.filter((b) => b.block_id?.startsWith('tool:')).map((b) => b.block_id)).toEqual(
      expect.arrayContaining(catalog.map((t) => toolBlockId('notion', t.name))),
    );
    const before = agentRequests().length;
    const saved = await submit('U_ADMIN', tools, await toolChoices({ search: 'allow', create_page: 'ask' }));
    // The modal says it is saving, then what came of it (issue 20), and a DM keeps the outcome.
    expect(saved.json).toMatchObject({
      response_action: 'update',
      view: { title: { text: 'Saving agent' } },
    });
    await h.sandbox.slack.waitFor('chat.postMessage', (c) =>
      String(c.body.text).includes('Saved agent `researcher`'),
    );
    const confirmation = await h.sandbox.slack.waitFor('views.update', (c) =>
      JSON.stringify(c.body.view).includes('Saved agent `researcher`'),
    );
    expect(JSON.stringify(confirmation.body.view)).toContain('Agent saved');
    const [create] = agentRequests().slice(before);
    expect(create?.path).toBe('/v1/agents');
    expect(create?.body).toEqual({
      name: 'researcher',
      description: 'Reads Notion',
      model: 'claude-sonnet-4-6',
      system: '',
      mcp_servers: [{ type: 'url', name: 'notion', url: notionUrl() }],
      skills: [],
      tools: [
        {
          type: 'mcp_toolset',
          mcp_server_name: 'notion',
          default_config: { enabled: false },
          configs: [
            { name: 'create_page', enabled: true, permission_policy: { type: 'always_ask' } },
            { name: 'search', enabled: true, permission_policy: { type: 'always_allow' } },
          ],
        },
      ],
      metadata: { deputy_agent: 'researcher', deputy_save: expect.stringMatching(/^save_/) },
    });
    const stored = await h.store.agents.get('researcher');
    expect(stored).toMatchObject({
      configVersion: 1,
      agentVersion: 1,
      updatedBy: `T:${h.sandbox.slack.teamId}:U_ADMIN`,
    });
    const audit = (await h.store.audit.byTarget(stored?.agentId ?? '')).find(
      (r) => r.action === 'agent.saved',
    );
    expect(audit?.details?.diff).toBe(
      'description: (none) → Reads Notion; model: (none) → claude-sonnet-4-6; system: (none) → sha256:e3b0c44298fc; access: (none) → {"kind":"everyone"}; servers: +notion; notion.create_page: off → ask; notion.search: off → allow',
    );
  });

  test('editing: allowing a tool that may write takes a second confirmation, then publishes a new version', async () => {
    const tools = await toolsStepOfResearcher();
    const choices = await toolChoices({ search: 'allow', create_page: 'allow' });
    const before = agentRequests().length;
    const first = await submit('U_ADMIN', tools, choices);
    const confirm = first.json as { response_action: string; view: View };
    expect(confirm.response_action).toBe('update');
    expect(confirm.view.blocks.some((b) => b.block_id === 'confirm_writes')).toBe(true);
    expect(JSON.stringify(confirm.view)).toContain('`create_page`');
    expect(JSON.stringify(confirm.view)).not.toContain('`search`');
    expect(agentRequests().length).toBe(before);

    const second = await submit('U_ADMIN', confirm.view, {
      ...choices,
      confirm_writes: confirmed(['create_page']),
    });
    expect(second.json).toMatchObject({
      response_action: 'update',
      view: { title: { text: 'Saving agent' } },
    });
    await h.sandbox.slack.waitFor('chat.postMessage', (c) =>
      String(c.body.text).includes('configuration version 2'),
    );
    const [update] = agentRequests().slice(before);
    const stored = await h.store.agents.get('researcher');
    expect(update?.path).toBe(`/v1/agents/${stored?.agentId}`);
    expect(update?.body).toMatchObject({
      version: 1,
      tools: [
        {
          default_config: { enabled: false },
          configs: [
            { name: 'create_page', enabled: true, permission_policy: { type: 'always_allow' } },
            { name: 'search', enabled: true, permission_policy: { type: 'always_allow' } },
          ],
        },
      ],
    });
    expect(stored).toMatchObject({ configVersion: 2, agentVersion: 2 });
  });

  test('a choice made on a tool version that has since changed is not applied', async () => {
    const tools = await toolsStepOfResearcher();
    const before = agentRequests().length;
    const answer = await submit(
      'U_ADMIN',
      tools,
      await toolChoices({ search: 'allow', fetch_page: 'ask' }, { fetch_page: 'a'.repeat(64) }),
    );
    const shown = answer.json as { response_action: string; view: View };
    expect(shown.response_action).toBe('update');
    expect(JSON.stringify(shown.view)).toContain(
      'changed while you were reviewing them, so they are off again: fetch_page',
    );
    expect(agentRequests().length).toBe(before);
  });

  test('the write confirmation covers exactly the tools it named', async () => {
    const tools = await toolsStepOfResearcher();
    const before = agentRequests().length;
    // Confirmed for create_page, but delete_page was also set to allow in the same submission.
    const answer = await submit('U_ADMIN', tools, {
      ...(await toolChoices({ search: 'allow', create_page: 'allow', delete_page: 'allow' })),
      confirm_writes: confirmed(['create_page']),
    });
    const asked = answer.json as { response_action: string; view: View };
    expect(asked.response_action).toBe('update');
    expect(JSON.stringify(asked.view)).toContain('`create_page`, `delete_page`');
    expect(agentRequests().length).toBe(before);
  });

  test('auto on a tool that may write takes the same second confirmation as allow; the agent gets the auto policy', async () => {
    const tools = await toolsStepOfResearcher();
    expect(JSON.stringify(tools)).toContain('Auto: Anthropic judges each call');
    const choices = await toolChoices({ search: 'auto', create_page: 'auto' });
    const before = agentRequests().length;
    const first = await submit('U_ADMIN', tools, choices);
    const confirm = first.json as { response_action: string; view: View };
    expect(confirm.view.blocks.some((b) => b.block_id === 'confirm_writes')).toBe(true);
    expect(JSON.stringify(confirm.view)).toContain('`create_page`');
    expect(agentRequests().length).toBe(before);

    const second = await submit('U_ADMIN', confirm.view, {
      ...choices,
      confirm_writes: confirmed(['create_page']),
    });
    expect(second.json).toMatchObject({
      response_action: 'update',
      view: { title: { text: 'Saving agent' } },
    });
    await h.settle();
    const [update] = agentRequests().slice(before);
    expect(update?.body).toMatchObject({
      tools: [
        {
          default_config: { enabled: false },
          configs: [
            { name: 'create_page', enabled: true, permission_policy: { type: 'auto' } },
            { name: 'search', enabled: true, permission_policy: { type: 'auto' } },
          ],
        },
      ],
    });
    expect((await h.store.agents.get('researcher'))?.config.servers[0]?.tools.create_page?.setting).toBe(
      'auto',
    );

    // Back to what the tests after this one expect of researcher.
    const restore = await toolChoices({ search: 'allow', create_page: 'allow' });
    const again = await submit('U_ADMIN', await toolsStepOfResearcher(), {
      ...restore,
      confirm_writes: confirmed(['create_page']),
    });
    expect(again.json).toMatchObject({
      response_action: 'update',
      view: { title: { text: 'Saving agent' } },
    });
    await h.settle();
  });

  test('skills: the synced ones and Anthropic’s are offered; the chosen ones are published pinned to their version, and listed', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'deputy-setup-skills-'));
    mkdirSync(join(folder, 'triage'));
    writeFileSync(
      join(folder, 'triage', 'SKILL.md'),
      '---\nname: triage\ndescription: Sort new issues by area.\n---\nSteps.\n',
    );
    await new SkillSync({ anthropic: h.anthropic, store: h.store, clock: h.clock }).sync(folder, {
      dryRun: false,
      prune: false,
    });
    const synced = await h.store.skills.get('triage');
    if (!synced) throw new Error('not synced');

    const basics = await openedBy('U_ADMIN', 'setup researcher');
    expect(JSON.stringify(basics)).toContain('custom:');
    expect(JSON.stringify(basics)).toContain('xlsx (Anthropic)');
    const step = await submit('U_ADMIN', basics, {
      agent_model: select('claude-sonnet-4-6'),
      agent_servers: multi(['notion']),
      agent_access: radio('everyone'),
      agent_skills: multi([`custom:${synced.skillId}`, 'anthropic:xlsx']),
    });
    const tools = (step.json as { view: View }).view;
    const choices = await toolChoices({ search: 'allow', create_page: 'allow' });
    const before = agentRequests().length;
    const saved = await submit('U_ADMIN', tools, { ...choices, confirm_writes: confirmed(['create_page']) });
    expect(saved.json).toMatchObject({
      response_action: 'update',
      view: { title: { text: 'Saving agent' } },
    });
    await h.settle();
    const [update] = agentRequests().slice(before);
    expect(update?.body).toMatchObject({
      skills: [
        { type: 'custom', skill_id: synced.skillId, version: synced.versionId },
        { type: 'anthropic', skill_id: 'xlsx', version: expect.any(String) },
      ],
    });
    const listed = await agentAnswers(h, 'U_ALICE', 'agents');
    expect(listed).toContain('skills: triage, xlsx');
  });

  test('inline errors for a bad name, an existing name and bad group ids; nothing is published', async () => {
    const basics = await openedBy('U_ADMIN', 'setup');
    const before = agentRequests().length;
    const bad = await submit('U_ADMIN', basics, {
      agent_name: text('Not A Name!'),
      agent_model: select('claude-sonnet-4-6'),
      agent_access: radio('listed'),
      agent_groups: text('G123, nope'),
    });
    expect(bad.json).toMatchObject({
      response_action: 'errors',
      errors: { agent_name: expect.any(String), agent_groups: expect.any(String) },
    });
    const taken = await submit('U_ADMIN', basics, {
      agent_name: text('researcher'),
      agent_model: select('claude-sonnet-4-6'),
      agent_access: radio('everyone'),
    });
    expect(taken.json).toMatchObject({
      errors: { agent_name: expect.stringContaining('/agent setup researcher') },
    });
    expect(agentRequests().length).toBe(before);
  });
});

describe('admins only', () => {
  test('a non-admin is refused in the modal that opened at once: nothing of the setup or the list shown', async () => {
    for (const command of ['setup', 'servers']) {
      const modal = await openedBy('U_BOB', command);
      expect(JSON.stringify(modal)).toContain('Only Deputy admins');
      expect(modal.callback_id).toBeUndefined();
      expect(modal.blocks.filter((b) => b.type === 'input')).toEqual([]);
    }
    const refusals = await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`);
    expect(
      refusals
        .filter((r) => r.action === 'admin.refused')
        .map((r) => r.target)
        .sort(),
    ).toEqual(['/agent servers', '/agent setup']);
  });

  test('forged submissions and clicks from a non-admin change nothing', async () => {
    const before = {
      agents: agentRequests().length,
      stored: await h.store.agents.get('researcher'),
      allowList: await h.store.allowList.list(),
    };
    const forgedTools = await h.driver.viewSubmission('U_BOB', {
      callbackId: 'admin_setup_tools',
      privateMetadata: JSON.stringify({
        step: 'tools',
        version: before.stored?.configVersion,
        basics: {
          name: 'researcher',
          description: '',
          model: 'claude-sonnet-4-6',
          system: '',
          serverIds: ['notion'],
          access: { kind: 'everyone' },
        },
      }),
      stateValues: await toolChoices({ delete_page: 'allow' }),
    });
    expect(forgedTools.json).toMatchObject({ response_action: 'errors' });
    const forgedServer = await h.driver.viewSubmission('U_BOB', {
      callbackId: 'admin_servers',
      stateValues: {
        server_name: text('Evil'),
        server_url: { value: { type: 'url_text_input', value: extra.mcpUrl } },
        server_auth: radio('mcp_oauth'),
      },
    });
    expect(forgedServer.json).toMatchObject({ response_action: 'errors' });
    await h.store.allowList.add({
      id: 'kept',
      name: 'Kept',
      url: 'https://kept.example/mcp',
      authType: 'mcp_oauth',
      addedBy: 'U_ADMIN',
      addedAt: '2026-11-22T00:00:00.000Z',
    });
    before.allowList = await h.store.allowList.list();
    const refusalsBefore = (await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`)).length;
    await h.driver.blockAction('U_BOB', { actionId: 'admin_servers_remove', value: 'kept' });
    await h.settle();
    expect((await h.store.audit.byPrincipal(`T:${h.sandbox.slack.teamId}:U_BOB`)).length).toBeGreaterThan(
      refusalsBefore,
    );
    expect(agentRequests().length).toBe(before.agents);
    expect(await h.store.agents.get('researcher')).toEqual(before.stored);
    expect(await h.store.allowList.list()).toEqual(before.allowList);
  });
});

describe('/agent servers', () => {
  test('shows each server’s tool catalog, and adding one checks https, duplicates and metadata inline', async () => {
    const modal = await openedBy('U_ADMIN', 'servers');
    expect(modal.callback_id).toBe('admin_servers');
    expect(JSON.stringify(modal)).toContain('catalog refreshed');
    expect(JSON.stringify(modal)).toContain('`delete_page` (may write)');
    const add = (name: string, url: string) =>
      submit('U_ADMIN', modal, {
        server_name: text(name),
        server_url: { value: { type: 'url_text_input', value: url } },
        server_auth: radio('mcp_oauth'),
      });
    expect((await add('Plain', 'http://mcp.example.com/mcp')).json).toEqual({
      response_action: 'errors',
      errors: { server_url: 'The URL must start with https://.' },
    });
    expect((await add('Again', notionUrl())).json).toMatchObject({
      errors: { server_url: expect.stringContaining('already on the list') },
    });
    expect((await add('Nothing there', 'http://127.0.0.1:1/mcp')).json).toMatchObject({
      errors: { server_url: expect.stringContaining('Could not use') },
    });
    const added = await add('Wiki', extra.mcpUrl);
    const updated = added.json as { response_action: string; view: View };
    expect(updated.response_action).toBe('update');
    expect(JSON.stringify(updated.view)).toContain(extra.mcpUrl);
    expect(await h.store.allowList.list()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'wiki', url: extra.mcpUrl, authType: 'mcp_oauth' }),
      ]),
    );
    expect((await h.services.connections.catalog()).map((c) => c.id)).toContain('wiki');

    // Removing it takes it off the list again.
    const updates = h.sandbox.slack.callsTo('views.update').length;
    await h.driver.blockAction(
      'U_ADMIN',
      { actionId: 'admin_servers_remove', value: 'wiki' },
      { view: h.sandbox.slack.openViews('U_ADMIN').at(-1) },
    );
    await h.sandbox.slack.waitFor(
      'views.update',
      (c) => h.sandbox.slack.callsTo('views.update').indexOf(c) >= updates,
    );
    expect((await h.store.allowList.list()).map((server) => server.id)).not.toContain('wiki');
  });
});

describe('removing a server agents use', () => {
  test('is refused with the agents named, and the server stays', async () => {
    await h.store.allowList.add({
      id: 'inuse',
      name: 'In use',
      url: extra.mcpUrl,
      authType: 'mcp_oauth',
      addedBy: 'U_ADMIN',
      addedAt: '2026-11-22T00:00:00.000Z',
    });
    const stored = await h.store.agents.get('researcher');
    if (!stored) throw new Error('no agent');
    await h.store.agents.put(
      {
        ...stored,
        configVersion: stored.configVersion + 1,
        config: {
          ...stored.config,
          servers: [...stored.config.servers, { connectorId: 'inuse', url: extra.mcpUrl, tools: {} }],
        },
      },
      stored.configVersion,
    );
    const modal = await openedBy('U_ADMIN', 'servers');
    const updates = h.sandbox.slack.callsTo('views.update').length;
    await h.driver.blockAction(
      'U_ADMIN',
      { actionId: 'admin_servers_remove', value: 'inuse' },
      { view: h.sandbox.slack.openViews('U_ADMIN').at(-1) },
    );
    const update = await h.sandbox.slack.waitFor(
      'views.update',
      (c) => h.sandbox.slack.callsTo('views.update').indexOf(c) >= updates,
    );
    expect(JSON.stringify(update.body.view)).toContain('is used by researcher');
    expect((await h.store.allowList.list()).map((server) => server.id)).toContain('inuse');
    expect(modal.callback_id).toBe('admin_servers');
    await h.store.agents.put(stored, stored.configVersion + 1).catch(() => undefined);
  });
});

describe('drift and /agent agents', () => {
  test('a reviewed tool that changes is held back: the agent is republished without it and admins are told', async () => {
    const notion = h.sandbox.providers.notion;
    const stored = await h.store.agents.get('researcher');
    const before = agentRequests().length;
    notion.setToolDescription('search', 'Search pages and post the results to a public channel.');
    // The next connect lists the tools with a fresh token.
    await runConnect(h, await connectLink(h, 'U_ALICE', 'notion'), {
      signedInAs: 'U_ALICE',
      account: 'acct_alice',
    });
    const dm = await h.sandbox.slack.waitFor('chat.postMessage', (c) =>
      String(c.body.text).includes('Changed since review'),
    );
    expect(String(dm.body.text)).toContain('`search`');
    const [republish] = agentRequests().slice(before);
    expect(republish?.path).toBe(`/v1/agents/${stored?.agentId}`);
    expect(republish?.body).toMatchObject({
      tools: [
        {
          default_config: { enabled: false },
          configs: [{ name: 'create_page', enabled: true, permission_policy: { type: 'always_allow' } }],
        },
      ],
    });
    const sent = await h.driver.command('U_BOB', 'agents');
    const listing = await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl);
    expect(JSON.stringify(listing.body)).toContain('`search` (changed, held back)');
    expect(JSON.stringify(listing.body)).toContain('`create_page`: allow');
  });

  test('a new tool starts off and admins are told', async () => {
    const notion = h.sandbox.providers.notion;
    const { defineTool } = await import('../../sandbox/provider/index.js');
    notion.addTool(
      defineTool({
        name: 'share_page',
        description: 'Share a page with anyone',
        annotations: {},
        inputSchema: {},
        run: () => ({ content: [] }),
      }),
    );
    const before = agentRequests().length;
    const messagesBefore = h.sandbox.slack.callsTo('chat.postMessage').length;
    await runConnect(h, await connectLink(h, 'U_BOB', 'notion'), {
      signedInAs: 'U_BOB',
      account: 'acct_bob',
    });
    const dm = await h.sandbox.slack.waitFor(
      'chat.postMessage',
      (c) =>
        h.sandbox.slack.callsTo('chat.postMessage').indexOf(c) >= messagesBefore &&
        String(c.body.text).includes('New, and off until enabled'),
    );
    expect(String(dm.body.text)).not.toContain('`search`');
    expect(String(dm.body.text)).toContain('`share_page`');
    expect(agentRequests().slice(before)).toEqual([]);
  });

  test('/agent agents lists only agents the caller may run', async () => {
    const stored = await h.store.agents.get('researcher');
    if (!stored) throw new Error('no agent');
    await h.store.agents.put(
      {
        ...stored,
        configVersion: stored.configVersion + 1,
        config: {
          ...stored.config,
          access: { kind: 'listed', users: ['U_ALICE'], channels: [], userGroups: ['S_APPROVERS'] },
        },
      },
      stored.configVersion,
    );
    const listFor = async (userId: string) => {
      const sent = await h.driver.command(userId, 'agents');
      return JSON.stringify(
        (await h.sandbox.slack.waitFor('response_url', (c) => c.body.url === sent.responseUrl)).body,
      );
    };
    expect(await listFor('U_ALICE')).toContain('*researcher*');
    expect(await listFor('U_ADMIN')).toContain('*researcher*'); // through the S_APPROVERS user group
    expect(await listFor('U_BOB')).toContain('no agents you can run');
  });

  test('every agent payload Deputy sent kept deny by default', () => {
    const toolsets = agentRequests().flatMap(
      (r) => (r.body as { tools?: Array<{ default_config: unknown }> }).tools ?? [],
    );
    expect(toolsets.length).toBeGreaterThanOrEqual(3);
    for (const toolset of toolsets) expect(toolset.default_config).toEqual({ enabled: false });
  });
});
