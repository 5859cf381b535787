import { createHash } from 'node:crypto';
import type { Button, InputBlock, KnownBlock, ModalView, PlainTextOption, SectionBlock } from '@slack/types';
import { mayWrite, type ToolSetting, type ToolStatus } from '../agents/agent-config.js';
import type { ToolsChanged } from '../agents/notices.js';
import type { ServerEntry } from '../agents/server-list.js';
import {
  confirmationValue,
  type SaveOutcome,
  type SetupMetadata,
  settingValue,
  skillOptionValue,
  type ToolsStep,
  toolKey,
} from '../agents/setup.js';
import type { SkillChoice } from '../agents/skills.js';
import type { Connector } from '../connections/catalog.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import { type AgentConfig, MODELS, type StoredAgent } from '../store/index.js';
import { openLinkActionId } from './connections.js';
import { confirmDialog, context, divider, header, input, section, truncate } from './elements.js';
import { noticeModal, plainText, type SlackMessage } from './messages.js';

/** Callback, block and action ids of the admin modals; listeners and parsers use these. */
export const AdminViews = {
  Servers: 'admin_servers',
  SetupBasics: 'admin_setup_basics',
  SetupTools: 'admin_setup_tools',
  RemoveServer: 'admin_servers_remove',
  CatalogConnect: 'admin_catalog_connect',
  CatalogDisconnect: 'admin_catalog_disconnect',
} as const;

export const BasicsBlocks = {
  name: 'agent_name',
  description: 'agent_description',
  model: 'agent_model',
  system: 'agent_system',
  servers: 'agent_servers',
  access: 'agent_access',
  users: 'agent_users',
  channels: 'agent_channels',
  groups: 'agent_groups',
  writers: 'agent_writers',
  ceiling: 'agent_ceiling',
  approvers: 'agent_approvers',
  memory: 'agent_memory',
  skills: 'agent_skills',
} as const;

export const ServerBlocks = { name: 'server_name', url: 'server_url', auth: 'server_auth' } as const;

/** Every input's element has this action id; the block id says which input it is. */
export const INPUT_ACTION = 'value';
export const CONFIRM_WRITES_BLOCK = 'confirm_writes';
export const TOOL_BLOCK_PREFIX = 'tool:';

const option = (text: string, value: string): PlainTextOption => ({
  text: { type: 'plain_text', text: truncate(text, 75) },
  value,
});

/** `/agent servers`: the allowed MCP servers with their tool catalogs, and a form to add one. */
/**
 * Whether the server's tools are re-checked on a schedule, and the button that changes it. OAuth
 * servers only: a pasted-token server's tools are checked when someone connects.
 */
function catalogAccountRow(entry: ServerEntry): KnownBlock[] {
  const { connector, catalogAccount } = entry;
  if (connector.auth.type === 'static_token')
    return [context('No catalog account: its tools are only checked when someone connects.')];
  const line = catalogAccount
    ? catalogAccount.status === 'active'
      ? `Catalog account of <@${catalogAccount.admin.userId}>: its tools are re-checked on a schedule and before sessions start.`
      : `:warning: The catalog account of <@${catalogAccount.admin.userId}> stopped working: connect it again.`
    : 'No catalog account: its tools are only checked when someone connects.';
  const button: Button = catalogAccount
    ? {
        type: 'button',
        action_id: AdminViews.CatalogDisconnect,
        text: { type: 'plain_text', text: 'Disconnect catalog account' },
        value: connector.id,
        confirm: confirmDialog({
          title: 'Disconnect it?',
          text: 'Its token is revoked; the tools are then only checked when someone connects.',
          confirm: 'Disconnect',
          deny: 'Keep',
          danger: true,
        }),
      }
    : {
        type: 'button',
        action_id: AdminViews.CatalogConnect,
        text: { type: 'plain_text', text: 'Connect catalog account' },
        value: connector.id,
      };
  return [{ type: 'section', text: { type: 'mrkdwn', text: line }, accessory: button }];
}

/** The single-use link to connect a server's catalog account, by DM to the admin who asked. */
export function catalogLinkMessage(connectorName: string, link: string): SlackMessage {
  const text = `Connect ${connectorName}'s catalog account: sign in with a dedicated ${connectorName} account that can see the tools. Deputy keeps its token sealed and uses it only to list tools. The link works once, for 10 minutes.`;
  return {
    text,
    blocks: [
      section(escapeMrkdwn(text)),
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: openLinkActionId('catalog'),
            text: { type: 'plain_text', text: `Connect ${truncate(connectorName, 60)}` },
            url: link,
          },
        ],
      },
    ],
  };
}

export function serversModal(entries: ServerEntry[], notice?: string): ModalView {
  const rows: KnownBlock[] = entries.flatMap((entry): KnownBlock[] => {
    const { connector, tools } = entry;
    const summary: SectionBlock = {
      type: 'section',
      block_id: `server:${connector.id}`,
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*${escapeMrkdwn(connector.name)}*  \`${escapeMrkdwn(connector.mcpServerUrl)}\`\n${connector.auth.type}, ${tools.length} tool(s), ${
            entry.refreshedAt
              ? `catalog refreshed ${entry.refreshedAt.slice(0, 16).replace('T', ' ')} UTC`
              : 'catalog not seen yet (nobody has connected it)'
          }`,
          3000,
        ),
      },
      ...(entry.removable
        ? {
            accessory: {
              type: 'button',
              action_id: AdminViews.RemoveServer,
              text: { type: 'plain_text', text: 'Remove' },
              value: connector.id,
              confirm: confirmDialog({
                title: 'Remove this server?',
                text: 'Agents can no longer be given it. A server agents still use cannot be removed.',
                confirm: 'Remove',
                deny: 'Keep',
                danger: true,
              }),
            },
          }
        : {}),
    };
    const toolLine = tools
      .map(
        (t) =>
          `\`${escapeMrkdwn(t.name)}\`${mayWrite(t.name, connector.readOnlyTools) ? ' (may write)' : ''}${t.changed ? ' :warning: changed' : ''}`,
      )
      .join(', ');
    return [summary, ...(toolLine ? [context(truncate(toolLine, 3000))] : []), ...catalogAccountRow(entry)];
  });
  return {
    type: 'modal',
    callback_id: AdminViews.Servers,
    title: { type: 'plain_text', text: 'MCP servers' },
    submit: { type: 'plain_text', text: 'Add server' },
    close: { type: 'plain_text', text: 'Done' },
    blocks: [
      section(notice ? `:warning: ${escapeMrkdwn(notice)}` : 'Agents may use only the servers on this list.'),
      divider(),
      ...rows.slice(0, 80),
      divider(),
      header('Add a server'),
      input(ServerBlocks.name, 'Name', { type: 'plain_text_input', action_id: INPUT_ACTION, max_length: 60 }),
      input(
        ServerBlocks.url,
        'MCP server URL',
        { type: 'url_text_input', action_id: INPUT_ACTION },
        false,
        'https only',
      ),
      input(ServerBlocks.auth, 'How people connect', {
        type: 'radio_buttons',
        action_id: INPUT_ACTION,
        options: [
          option('OAuth (the server’s own sign-in)', 'mcp_oauth'),
          option('A token they paste', 'static_token'),
        ],
        initial_option: option('OAuth (the server’s own sign-in)', 'mcp_oauth'),
      }),
    ],
  };
}

/** Step 1 of `/agent setup`: what the agent is, which servers, who may run it. */
export function setupBasicsModal(
  servers: Connector[],
  skills: SkillChoice[],
  existing?: { agent: StoredAgent },
): ModalView {
  const config = existing?.agent.config;
  const serverOptions = servers.slice(0, 100).map((s) => option(s.name, s.id));
  const skillOptions = skills
    .slice(0, 100)
    .map((s) => option(`${s.name}${s.type === 'anthropic' ? ' (Anthropic)' : ''}`, skillOptionValue(s)));
  const chosenSkills = skillOptions.filter((o) =>
    config?.skills?.some((s) => skillOptionValue(s) === o.value),
  );
  const chosen = serverOptions.filter((o) => config?.servers.some((s) => s.connectorId === o.value));
  const access = config?.access;
  const listed = access?.kind === 'listed' ? access : undefined;
  const metadata: SetupMetadata = {
    step: 'basics',
    ...(existing ? { version: existing.agent.configVersion, name: existing.agent.name } : {}),
  };
  const accessOptions = [
    option('Everyone in the workspace', 'everyone'),
    option('Only the people, channels and groups below', 'listed'),
  ];
  return {
    type: 'modal',
    callback_id: AdminViews.SetupBasics,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: existing ? 'Edit agent' : 'New agent' },
    submit: { type: 'plain_text', text: 'Next: tools' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      existing
        ? section(
            `*Agent:* \`${escapeMrkdwn(existing.agent.name)}\` (configuration version ${existing.agent.configVersion})`,
          )
        : input(
            BasicsBlocks.name,
            'Name',
            { type: 'plain_text_input', action_id: INPUT_ACTION, max_length: 40 },
            false,
            'lower-case letters, digits and dashes; used in /agent run --agent NAME',
          ),
      input(
        BasicsBlocks.description,
        'Description',
        {
          type: 'plain_text_input',
          action_id: INPUT_ACTION,
          max_length: 300,
          ...(config?.description ? { initial_value: config.description } : {}),
        },
        true,
      ),
      input(BasicsBlocks.model, 'Model', {
        type: 'static_select',
        action_id: INPUT_ACTION,
        options: MODELS.map((m) => option(m, m)),
        initial_option: option(config?.model ?? MODELS[0], config?.model ?? MODELS[0]),
      }),
      input(
        BasicsBlocks.system,
        'System prompt',
        {
          type: 'plain_text_input',
          action_id: INPUT_ACTION,
          multiline: true,
          max_length: 1500,
          ...(config?.system ? { initial_value: config.system } : {}),
        },
        true,
      ),
      serverOptions.length > 0
        ? input(
            BasicsBlocks.servers,
            'MCP servers (from the allow list)',
            {
              type: 'multi_static_select',
              action_id: INPUT_ACTION,
              options: serverOptions,
              ...(chosen.length > 0 ? { initial_options: chosen } : {}),
            },
            true,
          )
        : section('No MCP servers are allowed yet: add them with `/agent servers`.'),
      input(BasicsBlocks.access, 'Who may run it', {
        type: 'radio_buttons',
        action_id: INPUT_ACTION,
        options: accessOptions,
        initial_option: listed ? (accessOptions[1] ?? accessOptions[0]) : accessOptions[0],
      } as InputBlock['element']),
      input(
        BasicsBlocks.users,
        'People',
        {
          type: 'multi_users_select',
          action_id: INPUT_ACTION,
          ...(listed?.users.length ? { initial_users: listed.users } : {}),
        },
        true,
      ),
      input(
        BasicsBlocks.channels,
        'Channels',
        {
          type: 'multi_conversations_select',
          action_id: INPUT_ACTION,
          filter: { include: ['public', 'private'], exclude_bot_users: true },
          ...(listed?.channels.length ? { initial_conversations: listed.channels } : {}),
        },
        true,
      ),
      input(
        BasicsBlocks.groups,
        'User groups',
        {
          type: 'plain_text_input',
          action_id: INPUT_ACTION,
          ...(listed?.userGroups.length ? { initial_value: listed.userGroups.join(', ') } : {}),
        },
        true,
        'User group IDs, e.g. S0123ABC, S0456DEF',
      ),
      input(
        BasicsBlocks.writers,
        'Who may use tools that write',
        {
          type: 'multi_users_select',
          action_id: INPUT_ACTION,
          ...(config?.writers?.length ? { initial_users: config.writers } : {}),
        },
        true,
        'Leave empty for everyone who may run it; others get the agent without its writing tools',
      ),
      input(
        BasicsBlocks.ceiling,
        'Spend ceiling per session (USD)',
        {
          type: 'number_input',
          action_id: INPUT_ACTION,
          is_decimal_allowed: true,
          min_value: '0.01',
          max_value: '10000',
          ...(config?.spendCeilingUsd ? { initial_value: String(config.spendCeilingUsd) } : {}),
        },
        true,
      ),
      input(
        BasicsBlocks.approvers,
        'Approver group',
        {
          type: 'plain_text_input',
          action_id: INPUT_ACTION,
          ...(config?.approverGroup ? { initial_value: config.approverGroup } : {}),
        },
        true,
        'A user group ID whose members may also approve this agent’s tool calls',
      ),
      ...(skillOptions.length > 0
        ? [
            input(
              BasicsBlocks.skills,
              'Skills',
              {
                type: 'multi_static_select',
                action_id: INPUT_ACTION,
                options: skillOptions,
                max_selected_items: 20,
                ...(chosenSkills.length > 0 ? { initial_options: chosenSkills } : {}),
              },
              true,
              'Each is pinned to the version offered now (a custom skill’s last synced one); save again to take a newer one',
            ),
          ]
        : []),
      input(
        BasicsBlocks.memory,
        'Memory',
        {
          type: 'static_select',
          action_id: INPUT_ACTION,
          options: Object.entries(MEMORY_TEXT).map(([value, text]) => option(text, value)),
          initial_option: option(MEMORY_TEXT[config?.memory ?? 'off'], config?.memory ?? 'off'),
        },
        true,
        'Each person gets their own memory store, attached to their sessions only; nobody else’s is ever attached',
      ),
    ],
  };
}

/** How an agent remembers, as the setup modal offers it. */
const MEMORY_TEXT: Record<'off' | NonNullable<AgentConfig['memory']>, string> = {
  off: 'Remembers nothing between sessions',
  read_write: 'Remembers per person (reads and writes)',
  read_only: 'Per person, read only',
};

const SETTING_TEXT: Record<ToolSetting, string> = {
  off: 'Off',
  ask: 'Ask each time',
  auto: 'Auto: Anthropic judges each call',
  allow: 'Allow',
};

/** A bounded block id for a tool input, whatever the tool's name (block ids are at most 255 characters). */
export function toolBlockId(connectorId: string, toolName: string): string {
  return `${TOOL_BLOCK_PREFIX}${connectorId}:${createHash('sha256').update(toolName).digest('base64url').slice(0, 16)}`;
}

/** Blocks a modal may hold, less the intro and the room kept for the confirmation and notices. */
const TOOL_BLOCK_BUDGET = 100 - 6;

/**
 * Step 2 of `/agent setup`: each chosen server's tools as off, ask or allow. Everything starts off
 * unless it was set before and the tool is still as reviewed. `confirmWrites` adds the second
 * confirmation that letting a tool that may write run without asking takes; `notice` explains why
 * the step is shown again.
 */
export function setupToolsModal(step: ToolsStep): ModalView {
  const { metadata, servers, settings } = step;
  const blocks: KnownBlock[] = [];
  let hidden = 0;
  for (const { connector, tools } of servers) {
    if (blocks.length + 2 > TOOL_BLOCK_BUDGET) {
      hidden += tools.length;
      continue;
    }
    blocks.push(header(connector.name));
    if (tools.length === 0)
      blocks.push(
        context('No tools seen yet: they appear once someone connects this server. Until then, all are off.'),
      );
    for (const tool of tools) {
      if (blocks.length >= TOOL_BLOCK_BUDGET) {
        hidden += 1;
        continue;
      }
      const key = toolKey(connector.id, tool.name);
      const setting = settings.get(key) ?? 'off';
      const writes = mayWrite(tool.name, connector.readOnlyTools);
      const notes = [
        writes ? 'may write' : 'read-only per the catalog',
        !writes || tool.annotations.readOnlyHint !== true ? undefined : 'the server says read-only',
        step.heldBack?.has(key) ? 'changed since this agent’s review' : undefined,
      ].filter(Boolean);
      const choices = (['off', 'ask', 'auto', 'allow'] as const).map((s) =>
        option(SETTING_TEXT[s], settingValue(s, tool.hash)),
      );
      blocks.push(
        input(
          toolBlockId(connector.id, tool.name),
          truncate(`${tool.name} (${notes.join(', ')})`, 2000),
          {
            type: 'static_select',
            action_id: INPUT_ACTION,
            options: choices,
            initial_option: option(SETTING_TEXT[setting], settingValue(setting, tool.hash)),
          },
          false,
          tool.description ? truncate(tool.description, 1900) : undefined,
        ),
      );
    }
  }
  if (hidden > 0) blocks.push(context(`${hidden} more tool(s) are not shown and stay off.`));
  const confirmWrites = step.confirmWrites ?? [];
  if (confirmWrites.length > 0) {
    blocks.push(
      divider(),
      section(
        truncate(
          `:warning: These tools may write, and you set them to run *without asking anyone* (Allow), or whenever Anthropic judges a call safe (Auto): ${confirmWrites.map((t) => `\`${escapeMrkdwn(t)}\``).join(', ')}`,
          3000,
        ),
      ),
      input(CONFIRM_WRITES_BLOCK, 'Confirm', {
        type: 'checkboxes',
        action_id: INPUT_ACTION,
        options: [
          {
            text: { type: 'plain_text', text: 'Yes, let these tools act without asking' },
            value: confirmationValue(confirmWrites),
          },
        ],
      }),
    );
  }
  return {
    type: 'modal',
    callback_id: AdminViews.SetupTools,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Agent tools' },
    submit: { type: 'plain_text', text: 'Save agent' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        step.notice
          ? `:warning: ${escapeMrkdwn(step.notice)}`
          : 'Every tool is *off* unless you choose otherwise. *Ask* holds each call for the person’s approval.',
      ),
      ...blocks,
    ],
  };
}

/** `/agent agents`: the agents the caller may run, with their servers and each tool's setting. */
export function agentsMessage(entries: Array<{ agent: StoredAgent; status: ToolStatus[] }>): SlackMessage {
  if (entries.length === 0) {
    const text = 'There are no agents you can run yet.';
    return { text, blocks: [section(text)] };
  }
  const rows = entries.flatMap(({ agent, status }): KnownBlock[] => {
    const servers = agent.config.servers.map((server) => {
      const tools = status.filter((s) => s.server === server.connectorId);
      const on = tools.filter((t) => t.setting !== 'off').map((t) => `\`${t.tool}\`: ${t.setting}`);
      const held = tools
        .filter((t) => t.heldBack)
        .map((t) => `\`${t.tool}\` (${t.heldBack === 'changed' ? 'changed, held back' : 'gone'})`);
      return `• *${escapeMrkdwn(server.connectorId)}*: ${[...on, ...held].join(', ') || 'no tools on'}; everything else off`;
    });
    return [
      section(
        `*${escapeMrkdwn(agent.name)}*${agent.config.description ? `: ${escapeMrkdwn(agent.config.description)}` : ''}\n${servers.join('\n') || 'No MCP servers.'}`,
      ),
      context(
        [
          agent.config.model,
          `version ${agent.agentVersion}`,
          ...(agent.config.memory ? [MEMORY_TEXT[agent.config.memory].toLowerCase()] : []),
          ...(agent.config.skills?.length
            ? [`skills: ${agent.config.skills.map((s) => escapeMrkdwn(s.name)).join(', ')}`]
            : []),
        ].join(' · '),
      ),
    ];
  });
  return {
    text: `Agents you can run: ${entries.map((e) => e.agent.name).join(', ')}`,
    blocks: [header('Agents you can run'), ...rows.slice(0, 48)],
  };
}

/** The DM admins get when a server's tools changed under their agents. */
export function toolsChangedMessage(change: ToolsChanged): SlackMessage {
  const list = (tools: string[]) => tools.map((t) => `\`${escapeMrkdwn(t)}\``).join(', ');
  const lines = [
    `:warning: Tools changed on ${escapeMrkdwn(change.serverUrl)} (used by ${escapeMrkdwn(change.agents.join(', '))}).`,
    ...(change.changed.length > 0
      ? [`Changed since review, now off until an admin reviews them again: ${list(change.changed)}.`]
      : []),
    ...(change.added.length > 0 ? [`New, and off until enabled: ${list(change.added)}.`] : []),
    ...(change.republished.length > 0 ? [`Republished without them: ${change.republished.join(', ')}.`] : []),
    'Review them with `/agent setup <name>`.',
  ];
  return plainText(lines.join('\n'));
}

/** How an agent's save went, for the admin who saved it (a DM: the modal closed before the save). */
export function agentSavedMessage(outcome: SaveOutcome): SlackMessage {
  const text =
    outcome.kind === 'saved'
      ? `Saved agent \`${outcome.agent.name}\` (configuration version ${outcome.agent.configVersion}, agent version ${outcome.agent.agentVersion}). See it with \`/agent agents\`.`
      : outcome.kind === 'conflict'
        ? `Someone saved \`${outcome.name}\` while you were editing it, so your changes were not saved. Run \`/agent setup ${outcome.name}\` again.`
        : `Deputy could not save \`${outcome.name}\` (reference ${outcome.reference}). Nothing was changed.`;
  return { text, blocks: [section(text)] };
}

/** The setup modal while the agent is saved (longer than Slack waits for the submission's answer). */
export function savingAgentModal(): ModalView {
  return noticeModal(
    'Saving agent',
    plainText(':hourglass_flowing_sand: Saving the agent and publishing it…'),
  );
}

/** The setup modal once the save is done: what came of it, where the person can see it (issue 20). */
export function agentSavedModal(outcome: SaveOutcome): ModalView {
  return noticeModal(
    outcome.kind === 'saved' ? 'Agent saved' : 'Agent not saved',
    agentSavedMessage(outcome),
  );
}

/** `/agent setup NAME` for an agent that does not exist. */
export function noSuchAgentMessage(name: string): SlackMessage {
  const text = `There is no agent named \`${escapeMrkdwn(name.slice(0, 40))}\`. Use \`/agent setup\` to create one.`;
  return { text, blocks: [section(text)] };
}

export function adminOnlyMessage(): SlackMessage {
  const text =
    'Only Deputy admins (workspace admins and owners, and the people in DEPUTY_ADMINS) can do that. Nothing was changed.';
  return { text, blocks: [section(text)] };
}
