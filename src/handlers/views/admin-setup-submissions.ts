import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { mayWrite, type ToolSetting } from '../../agents/agent-config.js';
import { AgentEditConflict } from '../../agents/agent-service.js';
import {
  type Basics,
  BasicsBlocks,
  CONFIRM_WRITES_BLOCK,
  confirmationValue,
  readSetting,
  type SetupMetadata,
  setupToolsModal,
  type ToolsStepServer,
  toolBlockId,
  toolKey,
} from '../../blocks/agents.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Services } from '../../services.js';
import { type AgentConfig, agentConfigSchema, agentNameSchema, MODELS } from '../../store/index.js';
import { isAdmin } from '../admin-guard.js';
import { metadataJson, ViewState } from '../view-state.js';

/** Slack's limit on `private_metadata`, which carries the basics to the tools step. */
const METADATA_LIMIT = 3000;

const basicsSchema = agentConfigSchema
  .omit({ servers: true })
  .extend({ serverIds: z.array(z.string()).max(20) });
const metadataSchema = z.discriminatedUnion('step', [
  z.object({
    step: z.literal('basics'),
    version: z.number().int().positive().optional(),
    name: agentNameSchema.optional(),
  }),
  z.object({
    step: z.literal('tools'),
    version: z.number().int().positive().optional(),
    basics: basicsSchema,
  }),
]);

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** Step 1 submitted: the basics checked, then the tools step in its place. */
export function adminSetupBasicsSubmission(services: Services) {
  return async ({ ack, body, view, context }: Args) => {
    const correlationId = String(context.correlationId);
    const principal = principalFromInteraction(body);
    const errors = (e: Record<string, string>) => ack({ response_action: 'errors', errors: e });
    if (!(await isAdmin(services, principal, '/agent setup', correlationId))) {
      return errors({ [BasicsBlocks.model]: 'Only Deputy admins can set up agents.' });
    }
    const metadata = metadataSchema.safeParse(metadataJson(view.private_metadata));
    if (!metadata.success || metadata.data.step !== 'basics')
      return errors({ [BasicsBlocks.model]: 'This form is out of date; run /agent setup again.' });
    const state = new ViewState(view.state.values);
    const editing = metadata.data.name;
    const name = editing ?? state.text(BasicsBlocks.name).toLowerCase();
    const problems: Record<string, string> = {};
    if (!agentNameSchema.safeParse(name).success)
      problems[BasicsBlocks.name] = 'Use 1–40 lower-case letters, digits and dashes.';
    else if (!editing && (await services.agents.get(name)))
      problems[BasicsBlocks.name] = `An agent named ${name} exists: use /agent setup ${name} to edit it.`;
    const groups = splitIds(state.text(BasicsBlocks.groups));
    if (!groups.every((g) => /^S[A-Z0-9_]{2,}$/.test(g)))
      problems[BasicsBlocks.groups] = 'User group IDs start with S, e.g. S0123ABC.';
    const approvers = state.text(BasicsBlocks.approvers);
    if (approvers && !/^S[A-Z0-9_]{2,}$/.test(approvers))
      problems[BasicsBlocks.approvers] = 'A user group ID starts with S, e.g. S0123ABC.';
    const ceilingText = state.text(BasicsBlocks.ceiling);
    const ceiling = ceilingText ? Number(ceilingText) : undefined;
    if (ceiling !== undefined && !(ceiling > 0 && ceiling <= 10_000))
      problems[BasicsBlocks.ceiling] = 'Between 0.01 and 10,000.';
    const model = state.selected(BasicsBlocks.model);
    if (!MODELS.includes(model as (typeof MODELS)[number])) problems[BasicsBlocks.model] = 'Choose a model.';
    const serverIds = state.selectedMany(BasicsBlocks.servers);
    const catalog = await services.connections.catalog();
    if (!serverIds.every((id) => catalog.some((c) => c.id === id)))
      problems[BasicsBlocks.servers] = 'Only servers on the allow list.';
    const listed = state.selected(BasicsBlocks.access) === 'listed';
    if (Object.keys(problems).length > 0) return errors(problems);

    const basics: Basics = {
      name,
      description: state.text(BasicsBlocks.description),
      model: model as (typeof MODELS)[number],
      system: state.text(BasicsBlocks.system),
      serverIds,
      access: listed
        ? {
            kind: 'listed',
            users: state.selectedMany(BasicsBlocks.users),
            channels: state.selectedMany(BasicsBlocks.channels),
            userGroups: groups,
          }
        : { kind: 'everyone' },
      ...(state.selectedMany(BasicsBlocks.writers).length > 0
        ? { writers: state.selectedMany(BasicsBlocks.writers) }
        : {}),
      ...(ceiling !== undefined ? { spendCeilingUsd: ceiling } : {}),
      ...(approvers ? { approverGroup: approvers } : {}),
    };
    const parsed = basicsSchema.safeParse(basics);
    if (!parsed.success) return errors({ [BasicsBlocks.users]: 'Those people or channels are not valid.' });
    const next: SetupMetadata = {
      step: 'tools',
      ...(metadata.data.version ? { version: metadata.data.version } : {}),
      basics: parsed.data,
    };
    if (JSON.stringify(next).length > METADATA_LIMIT)
      return errors({ [BasicsBlocks.system]: 'Too long to carry to the next step; shorten the prompt.' });
    const existing = editing ? await services.agents.get(editing) : undefined;
    const servers = await toolsStepServers(services, serverIds);
    await ack({
      response_action: 'update',
      view: setupToolsModal(next, servers, reviewedSettings(existing?.config, servers), {
        heldBack: heldBackTools(existing?.config, servers),
      }),
    });
  };
}

/** Step 2 submitted: per-tool settings, a second confirmation for writes without asking, then the save. */
export function adminSetupToolsSubmission(services: Services) {
  return async ({ ack, body, view, context }: Args) => {
    const correlationId = String(context.correlationId);
    const principal = principalFromInteraction(body);
    const metadata = metadataSchema.safeParse(metadataJson(view.private_metadata));
    const firstBlock = Object.keys(view.state.values)[0] ?? CONFIRM_WRITES_BLOCK;
    const errors = (message: string) => ack({ response_action: 'errors', errors: { [firstBlock]: message } });
    if (!(await isAdmin(services, principal, '/agent setup', correlationId)))
      return errors('Only Deputy admins can set up agents.');
    if (!metadata.success || metadata.data.step !== 'tools')
      return errors('This form is out of date; run /agent setup again.');
    const { basics, version } = metadata.data;
    const servers = await toolsStepServers(services, basics.serverIds);
    const state = new ViewState(view.state.values);
    // Only tools the catalog holds count (a block id naming anything else is ignored), and only a
    // choice made on the tool's current description and schema.
    const settings = new Map<string, ToolSetting>();
    const stale: string[] = [];
    for (const { connector, tools } of servers) {
      for (const tool of tools) {
        const chosen = readSetting(state.selected(toolBlockId(connector.id, tool.name)), tool.hash);
        if (chosen === 'stale') stale.push(tool.name);
        else if (chosen === 'ask' || chosen === 'allow')
          settings.set(toolKey(connector.id, tool.name), chosen);
      }
    }
    if (stale.length > 0) {
      const notice = `These tools changed while you were reviewing them, so they are off again: ${stale.join(', ')}. Look again, then save.`;
      return ack({
        response_action: 'update',
        view: setupToolsModal(metadata.data, servers, settings, { notice }),
      });
    }
    const writes = servers.flatMap(({ connector, tools }) =>
      tools
        .filter(
          (t) =>
            settings.get(toolKey(connector.id, t.name)) === 'allow' &&
            mayWrite(t.name, connector.readOnlyTools),
        )
        .map((t) => t.name),
    );
    // The confirmation counts only for exactly the tools it was shown for.
    if (writes.length > 0 && !state.selectedMany(CONFIRM_WRITES_BLOCK).includes(confirmationValue(writes))) {
      return ack({
        response_action: 'update',
        view: setupToolsModal(metadata.data, servers, settings, { confirmWrites: writes }),
      });
    }
    const { serverIds: _ids, ...rest } = basics;
    const config = agentConfigSchema.safeParse({
      ...rest,
      servers: servers.map(({ connector, tools }) => ({
        connectorId: connector.id,
        url: connector.mcpServerUrl,
        tools: Object.fromEntries(
          tools.flatMap((tool) => {
            const setting = settings.get(toolKey(connector.id, tool.name));
            return setting === 'ask' || setting === 'allow'
              ? [[tool.name, { setting, reviewedHash: tool.hash }]]
              : [];
          }),
        ),
      })),
    } satisfies AgentConfig);
    if (!config.success) return errors('This configuration is not valid; run /agent setup again.');
    await ack({ response_action: 'clear' });
    await save(services, principal, config.data, version, correlationId);
  };
}

async function save(
  services: Services,
  principal: ReturnType<typeof principalFromInteraction>,
  config: AgentConfig,
  version: number | undefined,
  correlationId: string,
) {
  let text: string;
  try {
    const saved = await services.agents.save(principal, config, version, correlationId);
    text = `Saved agent \`${saved.name}\` (configuration version ${saved.configVersion}, agent version ${saved.agentVersion}). See it with \`/agent agents\`.`;
  } catch (error) {
    text =
      error instanceof AgentEditConflict
        ? `Someone saved \`${config.name}\` while you were editing it, so your changes were not saved. Run \`/agent setup ${config.name}\` again.`
        : `Deputy could not save \`${config.name}\` (reference ${correlationId}). Nothing was changed.`;
    if (!(error instanceof AgentEditConflict))
      services.logger.error('agent save failed', { error: String(error), correlationId });
  }
  await services.notices.dm(principal, {
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  });
}

async function toolsStepServers(services: Services, serverIds: string[]): Promise<ToolsStepServer[]> {
  const catalog = await services.connections.catalog();
  const chosen = catalog.filter((c) => serverIds.includes(c.id));
  return Promise.all(
    chosen.map(async (connector) => ({
      connector,
      tools: await services.store.toolCatalog.list(connector.mcpServerUrl),
    })),
  );
}

/** Tools this agent had on whose description or schema changed since review. */
function heldBackTools(config: AgentConfig | undefined, servers: ToolsStepServer[]): Set<string> {
  const held = new Set<string>();
  for (const server of config?.servers ?? []) {
    const current = servers.find((s) => s.connector.id === server.connectorId)?.tools ?? [];
    for (const [tool, choice] of Object.entries(server.tools)) {
      const seen = current.find((t) => t.name === tool);
      if (seen && seen.hash !== choice.reviewedHash) held.add(toolKey(server.connectorId, tool));
    }
  }
  return held;
}

/** Settings carried over from the saved configuration, only for tools still as they were reviewed. */
function reviewedSettings(
  config: AgentConfig | undefined,
  servers: ToolsStepServer[],
): Map<string, ToolSetting> {
  const settings = new Map<string, ToolSetting>();
  for (const server of config?.servers ?? []) {
    const current = servers.find((s) => s.connector.id === server.connectorId)?.tools ?? [];
    for (const [tool, choice] of Object.entries(server.tools)) {
      if (current.some((t) => t.name === tool && t.hash === choice.reviewedHash))
        settings.set(toolKey(server.connectorId, tool), choice.setting);
    }
  }
  return settings;
}

const splitIds = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
