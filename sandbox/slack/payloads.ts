import { randomBase58 } from '../../src/ids.js';
import type { SlackEmulator } from './emulator.js';
import {
  findActionElement,
  type SlackChannel,
  type SlackMessage,
  type SlackView,
  type ViewStateValues,
  wireMessage,
  wireView,
} from './workspace.js';

/**
 * The bodies Slack sends to an app's request URL, built from the emulator's workspace so that ids,
 * names, response_urls and trigger_ids agree with what its Web API knows.
 */

export function userField(slack: SlackEmulator, userId: string): Record<string, unknown> {
  const user = slack.user(userId);
  return { id: user.id, username: user.name, name: user.name, team_id: user.teamId };
}

export function teamField(slack: SlackEmulator): Record<string, unknown> {
  return {
    id: slack.teamId,
    domain: slack.teamDomain,
    ...(slack.enterpriseId
      ? { enterprise_id: slack.enterpriseId, enterprise_name: slack.enterpriseName }
      : {}),
  };
}

export function enterpriseField(slack: SlackEmulator): Record<string, unknown> | null {
  return slack.enterpriseId ? { id: slack.enterpriseId, name: slack.enterpriseName } : null;
}

/** Slack names a DM `directmessage` in payloads. */
export function channelName(channel: SlackChannel): string {
  return channel.isIm ? 'directmessage' : channel.name;
}

/** Where a slash command runs by default: the first channel the user is in, else their DM. */
export function defaultChannelFor(slack: SlackEmulator, userId: string): SlackChannel {
  return slack.channels.find((c) => c.members.includes(userId)) ?? slack.channel(slack.dmChannelId(userId));
}

export interface SlashCommandInput {
  userId: string;
  text: string;
  command: string;
  channel: SlackChannel;
  responseUrl: string;
  triggerId: string;
}

/** The form body of a slash command, fields in Slack's order. */
export function slashCommandBody(slack: SlackEmulator, input: SlashCommandInput): string {
  const user = slack.user(input.userId);
  const fields: [string, string][] = [
    ['token', slack.verificationToken],
    ['team_id', slack.teamId],
    ['team_domain', slack.teamDomain],
  ];
  if (slack.enterpriseId) {
    fields.push(['enterprise_id', slack.enterpriseId], ['enterprise_name', slack.enterpriseName ?? '']);
  }
  fields.push(
    ['channel_id', input.channel.id],
    ['channel_name', channelName(input.channel)],
    ['user_id', user.id],
    ['user_name', user.name],
    ['command', input.command],
    ['text', input.text],
    ['api_app_id', slack.appId],
    ['is_enterprise_install', 'false'],
    ['response_url', input.responseUrl],
    ['trigger_id', input.triggerId],
  );
  return new URLSearchParams(fields).toString();
}

export type ActionSurface =
  | { kind: 'view'; view: SlackView }
  | { kind: 'message'; channel: SlackChannel; message?: SlackMessage; ephemeral: boolean };

/**
 * Where the user sees an element with `actionId`, as a person would look: the top modal, the Home
 * tab, then the newest message (ephemeral or not) that shows it.
 */
export function locateAction(
  slack: SlackEmulator,
  userId: string,
  actionId: string,
): ActionSurface | undefined {
  const modals = [...slack.openViews(userId)].reverse();
  const home = slack.homeView(userId);
  for (const view of home ? [...modals, home] : modals) {
    if (findActionElement(view.blocks, actionId)) return { kind: 'view', view };
  }
  const candidates: { message: SlackMessage; ephemeral: boolean }[] = [
    ...slack.ephemerals(userId).map((message) => ({ message, ephemeral: true })),
    ...slack.workspace.channels
      .filter((c) => c.members.includes(userId))
      .flatMap((c) => slack.messages(c.id).map((message) => ({ message, ephemeral: false }))),
  ].sort((a, b) => Number(b.message.ts) - Number(a.message.ts));
  for (const { message, ephemeral } of candidates) {
    if (findActionElement(message.blocks, actionId)) {
      return { kind: 'message', channel: slack.channel(message.channel), message, ephemeral };
    }
  }
  return undefined;
}

export interface BlockActionInput {
  userId: string;
  surface: ActionSurface;
  action: Record<string, unknown>;
  triggerId: string;
  responseUrl?: string;
  /** Message actions: the message's inputs as the person left them. */
  stateValues?: ViewStateValues;
}

export function blockActionsPayload(slack: SlackEmulator, input: BlockActionInput): Record<string, unknown> {
  const { surface } = input;
  const common = {
    type: 'block_actions',
    user: userField(slack, input.userId),
    api_app_id: slack.appId,
    token: slack.verificationToken,
  };
  const tail = {
    trigger_id: input.triggerId,
    team: teamField(slack),
    enterprise: enterpriseField(slack),
    is_enterprise_install: false,
  };
  if (surface.kind === 'view') {
    return {
      ...common,
      container: { type: 'view', view_id: surface.view.id },
      ...tail,
      view: { ...wireView(surface.view), state: { values: input.stateValues ?? surface.view.state.values } },
      state: { values: input.stateValues ?? surface.view.state.values },
      actions: [input.action],
    };
  }
  const messageTs = surface.message?.ts;
  return {
    ...common,
    container: {
      type: 'message',
      ...(messageTs ? { message_ts: messageTs } : {}),
      channel_id: surface.channel.id,
      is_ephemeral: surface.ephemeral,
      // A message in a thread (or a thread's parent) names its thread, as Slack's container does.
      ...(surface.message?.thread_ts ? { thread_ts: surface.message.thread_ts } : {}),
    },
    ...tail,
    channel: { id: surface.channel.id, name: channelName(surface.channel) },
    // Slack does not send the message itself when it was ephemeral.
    ...(surface.message && !surface.ephemeral ? { message: wireMessage(surface.message) } : {}),
    state: { values: input.stateValues ?? {} },
    ...(input.responseUrl ? { response_url: input.responseUrl } : {}),
    actions: [input.action],
  };
}

/**
 * State values as Slack sends them; a plain string stands for the value typed into the input with
 * that block and action id (its element type taken from the view when known).
 */
export function stateValuesFor(
  view: SlackView | undefined,
  values: Record<string, Record<string, unknown>>,
): ViewStateValues {
  const out: ViewStateValues = {};
  for (const [blockId, actions] of Object.entries(values)) {
    out[blockId] = {};
    for (const [actionId, value] of Object.entries(actions)) {
      const type = view ? findActionElement(view.blocks, actionId)?.element.type : undefined;
      (out[blockId] as Record<string, unknown>)[actionId] =
        typeof value === 'string'
          ? { type: typeof type === 'string' ? type : 'plain_text_input', value }
          : value;
    }
  }
  return out;
}

export function viewPayload(
  slack: SlackEmulator,
  type: 'view_submission' | 'view_closed',
  userId: string,
  view: Record<string, unknown>,
  triggerId?: string,
): Record<string, unknown> {
  return {
    type,
    team: teamField(slack),
    user: userField(slack, userId),
    api_app_id: slack.appId,
    token: slack.verificationToken,
    ...(triggerId ? { trigger_id: triggerId } : {}),
    view,
    ...(type === 'view_submission' ? { response_urls: [] } : { is_cleared: false }),
    is_enterprise_install: false,
    enterprise: enterpriseField(slack),
  };
}

/** A view object for a submission of a modal the emulator never opened (a handler tested alone). */
export function syntheticModal(slack: SlackEmulator, callbackId: string): Record<string, unknown> {
  return {
    id: `V${randomBase58(10).toUpperCase()}`,
    team_id: slack.teamId,
    type: 'modal',
    title: { type: 'plain_text', text: 'Modal' },
    blocks: [],
    private_metadata: '',
    callback_id: callbackId,
    external_id: '',
    state: { values: {} },
    hash: `${Math.floor(slack.clock.now() / 1000)}.${randomBase58(8)}`,
    clear_on_close: false,
    notify_on_close: false,
    root_view_id: null,
    previous_view_id: null,
    app_id: slack.appId,
    app_installed_team_id: slack.teamId,
    bot_id: slack.botId,
  };
}

export interface EventInput {
  event: Record<string, unknown>;
  eventId: string;
  eventTime: number;
}

/** The Events API envelope around one event. */
export function eventEnvelope(slack: SlackEmulator, input: EventInput): Record<string, unknown> {
  return {
    token: slack.verificationToken,
    team_id: slack.teamId,
    ...(slack.enterpriseId ? { enterprise_id: slack.enterpriseId } : {}),
    api_app_id: slack.appId,
    event: input.event,
    type: 'event_callback',
    event_id: input.eventId,
    event_time: input.eventTime,
    authorizations: [
      {
        enterprise_id: slack.enterpriseId ?? null,
        team_id: slack.teamId,
        user_id: slack.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomBase58(40)}`,
  };
}
