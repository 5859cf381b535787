import { invalidArguments, SlackApiError } from './errors.js';
import type { TriggerRegistry } from './triggers.js';
import {
  duplicateActionId,
  isRecord,
  type SlackChannel,
  type SlackMessage,
  type SlackUser,
  type SlackWorkspace,
  wireMessage,
  wireView,
  withBlockIds,
} from './workspace.js';

export type Args = Record<string, unknown>;

export interface MethodContext {
  workspace: SlackWorkspace;
  triggers: TriggerRegistry;
  /** The bot token's scopes (what the app's manifest asked for). */
  scopes: readonly string[];
  /** Where a file's bytes go, by its upload token (Slack's is files.slack.com; here, this origin). */
  uploadUrl(token: string): string;
}

/**
 * The scopes each method needs, as Slack's reference lists them (any one of them will do). A token
 * without one is answered `missing_scope`, naming what was needed and what the token has.
 */
export const METHOD_SCOPES: Record<string, readonly string[]> = {
  'auth.test': [],
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.getPermalink': [],
  'conversations.open': ['im:write', 'mpim:write', 'channels:manage', 'groups:write'],
  // These three also need the scope of the conversation's own kind (checked in the method).
  'conversations.info': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
  'conversations.members': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history', 'mpim:history'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  'users.info': ['users:read'],
  'usergroups.list': ['usergroups:read'],
  'usergroups.users.list': ['usergroups:read'],
  'views.open': [],
  'views.push': [],
  'views.update': [],
  'views.publish': [],
};

/** A method answers the fields beside `ok: true`, or throws SlackApiError. */
export type WebApiMethod = (ctx: MethodContext, args: Args) => Record<string, unknown>;

/** Limits from Slack's reference (Block Kit, chat.postMessage, views.*). */
const MAX_MESSAGE_BLOCKS = 50;
const MAX_VIEW_BLOCKS = 100;
const MAX_TEXT = 40_000;
const MAX_VIEW_TITLE = 24;
const MAX_PRIVATE_METADATA = 3000;
const MAX_MODAL_STACK = 3;

export const webApiMethods: Record<string, WebApiMethod> = {
  'auth.test': ({ workspace: ws }) => {
    const c = ws.config;
    return {
      url: `https://${c.teamDomain}.slack.com/`,
      team: c.teamName,
      user: c.botName,
      team_id: c.teamId,
      user_id: c.botUserId,
      bot_id: c.botId,
      is_enterprise_install: false,
      ...(c.enterpriseId ? { enterprise_id: c.enterpriseId } : {}),
    };
  },

  'chat.postMessage': ({ workspace: ws, scopes }, args) => {
    // chat:write.public lets an app post in public channels it is not a member of (not private ones).
    const channel = postableConversation(ws, args.channel, scopes.includes('chat:write.public'));
    const content = messageContent(args);
    const message = ws.appMessage(
      channel.id,
      {
        ...content,
        metadata: isRecord(args.metadata) ? args.metadata : undefined,
        thread_ts: str(args.thread_ts),
      },
      'chat.postMessage',
    );
    return { channel: channel.id, ts: message.ts, message: wireMessage(message) };
  },

  'chat.postEphemeral': ({ workspace: ws }, args) => {
    const channel = postableConversation(ws, args.channel);
    const userId = str(args.user);
    if (!userId) throw invalidArguments('missing required field: user');
    if (!channel.members.includes(userId)) throw new SlackApiError('user_not_in_channel');
    const message = ws.ephemeral(
      userId,
      channel.id,
      { ...messageContent(args), thread_ts: str(args.thread_ts) },
      'chat.postEphemeral',
    );
    return { message_ts: message.ts };
  },

  'chat.update': ({ workspace: ws }, args) => {
    // A private conversation the app has left is invisible to it, its own messages there too.
    const channel = conversation(ws, args.channel);
    if (channel.isPrivate && !channel.members.includes(ws.config.botUserId))
      throw new SlackApiError('channel_not_found');
    const ts = str(args.ts);
    if (!ts) throw invalidArguments('missing required field: ts');
    const message = ws.findMessage(channel.id, ts);
    if (!message) throw new SlackApiError('message_not_found');
    if (message.bot_id !== ws.config.botId) throw new SlackApiError('cant_update_message');
    const hasText = typeof args.text === 'string';
    if (!hasText && args.blocks === undefined && args.attachments === undefined) {
      throw new SlackApiError('no_text');
    }
    // Slack: an update with text and no blocks draws the text, so the old blocks go.
    ws.editMessage(
      message,
      {
        ...(hasText ? { text: String(args.text) } : {}),
        ...(args.blocks !== undefined ? { blocks: blocksOf(args.blocks) } : {}),
        ...(Array.isArray(args.attachments) ? { attachments: args.attachments } : {}),
      },
      { keepBlocks: !hasText },
    );
    return { channel: channel.id, ts: message.ts, text: message.text, message: wireMessage(message) };
  },

  'files.getUploadURLExternal': ({ workspace: ws, uploadUrl }, args) => {
    const filename = str(args.filename);
    if (!filename) throw invalidArguments('missing required field: filename');
    const length = Number(args.length);
    if (args.length === undefined) throw invalidArguments('missing required field: length');
    if (!Number.isInteger(length) || length < 1) throw invalidArguments('length must be a positive integer');
    const file = ws.startUpload(filename, length);
    return { upload_url: uploadUrl(file.uploadToken), file_id: file.id };
  },

  'files.completeUploadExternal': ({ workspace: ws }, args) => {
    const listed = filesArgument(args.files);
    if (!listed) throw invalidArguments('missing required field: files');
    const files = listed.map(({ id, title }) => {
      const file = ws.file(id);
      if (!file || file.completed) throw new SlackApiError('file_not_found');
      // Bytes that never arrived, or not as many as declared, complete nothing.
      if (file.content?.length !== file.length) throw new SlackApiError('file_upload_size_mismatch');
      return { file, title: title ?? file.name };
    });
    const channelId = str(args.channel_id);
    // Sharing a file needs the app in the conversation: chat:write.public does not reach files.
    const channel = channelId ? postableConversation(ws, channelId) : undefined;
    const threadTs = str(args.thread_ts);
    if (threadTs && (!channel || !ws.findMessage(channel.id, threadTs)))
      throw invalidArguments('thread_ts must name a message in channel_id');
    for (const { file, title } of files) {
      file.completed = true;
      file.title = title;
    }
    const shared = files.map(({ file }) => ({
      id: file.id,
      name: file.name,
      title: file.title ?? file.name,
    }));
    if (channel)
      ws.appMessage(
        channel.id,
        { text: str(args.initial_comment) ?? '', files: shared, thread_ts: threadTs },
        'files.completeUploadExternal',
      );
    return { files: shared };
  },

  'conversations.open': ({ workspace: ws }, args) => {
    const channelArg = str(args.channel);
    if (channelArg) return { channel: { id: conversation(ws, channelArg).id } };
    const ids = (str(args.users) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new SlackApiError('users_list_not_supplied');
    for (const id of ids) if (!ws.findUser(id)) throw new SlackApiError('user_not_found');
    if (ids.length > 1) throw invalidArguments('the emulator opens 1:1 DMs only');
    const userId = ids[0] as string;
    const alreadyOpen = ws.hasDm(userId);
    const dm = ws.openDm(userId);
    const channel = bool(args.return_im)
      ? { id: dm.id, created: 0, is_im: true, is_org_shared: false, user: userId, is_open: true, priority: 0 }
      : { id: dm.id };
    return { ...(alreadyOpen ? { no_op: true, already_open: true } : {}), channel };
  },

  'chat.getPermalink': ({ workspace: ws }, args) => {
    const channel = conversation(ws, args.channel);
    if (channel.isPrivate && !channel.members.includes(ws.config.botUserId))
      throw new SlackApiError('channel_not_found');
    const ts = str(args.message_ts);
    if (!ts) throw invalidArguments('missing required field: message_ts');
    const message = ws.findMessage(channel.id, ts);
    if (!message) throw new SlackApiError('message_not_found');
    // As Slack makes them: the message's ts without its dot; a reply names its thread too.
    const link = `https://${ws.config.teamDomain}.slack.com/archives/${channel.id}/p${ts.replace('.', '')}`;
    const reply = message.thread_ts && message.thread_ts !== message.ts;
    return {
      channel: channel.id,
      permalink: reply ? `${link}?thread_ts=${message.thread_ts}&cid=${channel.id}` : link,
    };
  },

  'conversations.info': (ctx, args) => {
    const channel = readableConversation(ctx, args.channel, 'read');
    return {
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: !channel.isPrivate && !channel.isIm,
        is_group: Boolean(channel.isPrivate && !channel.isIm),
        is_im: Boolean(channel.isIm),
        is_mpim: false,
        is_private: Boolean(channel.isPrivate),
        is_member: channel.members.includes(ctx.workspace.config.botUserId),
        ...(channel.isIm ? { user: channel.user } : {}),
      },
    };
  },

  'conversations.members': (ctx, args) => {
    const channel = readableConversation(ctx, args.channel, 'read');
    const { page, next } = paged(channel.members, args, 100);
    return { members: page, response_metadata: { next_cursor: next } };
  },

  'conversations.replies': (ctx, args) => {
    const channel = readableConversation(ctx, args.channel, 'history');
    const ts = str(args.ts);
    if (!ts) throw invalidArguments('missing required field: ts');
    const message = ctx.workspace.findMessage(channel.id, ts);
    if (!message) throw new SlackApiError('thread_not_found');
    // The parent and its replies in order; a reply's ts gives that reply alone, as Slack does.
    const thread =
      message.thread_ts && message.thread_ts !== message.ts
        ? [message]
        : ctx.workspace
            .messages(channel.id)
            .filter((m) => m.ts === ts || m.thread_ts === ts)
            .sort((a, b) => Number(a.ts) - Number(b.ts));
    const { page, next } = paged(thread, args, 1000);
    return {
      messages: page.map(wireMessage),
      has_more: next !== '',
      response_metadata: { next_cursor: next },
    };
  },

  'users.info': ({ workspace: ws }, args) => {
    const id = str(args.user);
    if (!id) throw invalidArguments('missing required field: user');
    const user = ws.findUser(id) ?? (id === ws.config.botUserId ? botUser(ws) : undefined);
    if (!user) throw new SlackApiError('user_not_found');
    return { user: userObject(ws, user) };
  },

  'usergroups.list': ({ workspace: ws }, args) => {
    // Every group is enabled, so include_disabled changes nothing; user_count is always there.
    return { usergroups: ws.userGroupObjects(bool(args.include_users)) };
  },

  'usergroups.users.list': ({ workspace: ws }, args) => {
    const id = str(args.usergroup);
    if (!id) throw invalidArguments('missing required field: usergroup');
    const group = ws.findUserGroup(id);
    if (!group) throw new SlackApiError('no_such_subteam');
    return { users: [...group.users] };
  },

  'views.open': ({ workspace: ws, triggers }, args) => {
    const spec = viewSpec(args.view, 'modal');
    if (spec.external_id && ws.viewByExternalId(String(spec.external_id))) {
      throw new SlackApiError('duplicate_external_id');
    }
    const { userId } = triggers.exchange(args.trigger_id);
    const view = ws.buildView(spec, userId);
    ws.openModal(userId, view);
    return { view: wireView(view) };
  },

  'views.push': ({ workspace: ws, triggers }, args) => {
    const spec = viewSpec(args.view, 'modal');
    if (spec.external_id && ws.viewByExternalId(String(spec.external_id))) {
      throw new SlackApiError('duplicate_external_id');
    }
    const { userId } = triggers.exchange(args.trigger_id);
    const stack = userId ? ws.modalStack(userId) : [];
    if (!userId || stack.length === 0) throw new SlackApiError('not_found');
    if (stack.length >= MAX_MODAL_STACK) throw new SlackApiError('push_limit_reached');
    const view = ws.buildView(spec, userId);
    ws.pushModal(userId, view);
    return { view: wireView(view) };
  },

  'views.update': ({ workspace: ws }, args) => {
    const viewId = str(args.view_id);
    const externalId = str(args.external_id);
    if (!viewId && !externalId) throw invalidArguments('either view_id or external_id is required');
    const existing = viewId ? ws.view(viewId) : ws.viewByExternalId(externalId ?? '');
    if (!existing) throw new SlackApiError('not_found');
    const spec = viewSpec(args.view, existing.type === 'home' ? 'home' : 'modal');
    const hash = str(args.hash);
    if (hash && hash !== existing.hash) throw new SlackApiError('hash_conflict');
    const view = ws.buildView({ external_id: existing.external_id, ...spec }, existing.userId, existing);
    ws.saveView(view);
    return { view: wireView(view) };
  },

  'views.publish': ({ workspace: ws }, args) => {
    const userId = str(args.user_id);
    if (!userId) throw invalidArguments('missing required field: user_id');
    if (!ws.findUser(userId)) throw new SlackApiError('user_not_found');
    const spec = viewSpec(args.view, 'home');
    const existing = ws.homeView(userId);
    const hash = str(args.hash);
    if (hash && existing && hash !== existing.hash) throw new SlackApiError('hash_conflict');
    const view = ws.buildView(spec, userId, existing);
    ws.publishHome(userId, view);
    return { view: wireView(view) };
  },
};

// ---- conversations

/** A conversation by id or name; a user id means the app's DM with that user (chat.postMessage). */
function conversation(ws: SlackWorkspace, value: unknown): SlackChannel {
  const id = str(value);
  if (!id) throw new SlackApiError('channel_not_found');
  const channel = ws.findChannel(id);
  if (channel) return channel;
  const user = ws.findUser(id);
  if (user && !user.deleted) return ws.openDm(user.id);
  throw new SlackApiError('channel_not_found');
}

/**
 * A conversation the app may read (its info and members, or its messages): its kind's own scope
 * (`channels:` public, `groups:` private, `im:` DMs) is needed, and a bot reads only what it is in;
 * a private one it is not in is invisible to it.
 */
function readableConversation(ctx: MethodContext, value: unknown, access: 'read' | 'history'): SlackChannel {
  const channel = conversation(ctx.workspace, value);
  const kind = channel.isIm ? 'im' : channel.isPrivate ? 'groups' : 'channels';
  const needed = `${kind}:${access}`;
  if (!ctx.scopes.includes(needed))
    throw new SlackApiError('missing_scope', { needed, provided: ctx.scopes.join(',') });
  if (!channel.members.includes(ctx.workspace.config.botUserId)) {
    if (channel.isPrivate) throw new SlackApiError('channel_not_found');
    if (access === 'history') throw new SlackApiError('not_in_channel');
  }
  return channel;
}

/** One page of a cursor-paginated list: `limit` (default `fallback`, at most 1,000) from the cursor on. */
function paged<T>(items: readonly T[], args: Args, fallback: number): { page: T[]; next: string } {
  const limit = Math.min(1000, Math.max(1, Number(args.limit ?? fallback) || fallback));
  const cursor = str(args.cursor);
  const from = cursor
    ? Number(
        Buffer.from(cursor, 'base64')
          .toString()
          .replace(/^offset:/, ''),
      )
    : 0;
  if (!Number.isInteger(from) || from < 0) throw new SlackApiError('invalid_cursor');
  const page = items.slice(from, from + limit);
  const next = from + limit < items.length ? Buffer.from(`offset:${from + limit}`).toString('base64') : '';
  return { page, next };
}

/** A conversation the app may post in: a private one it is not in is invisible to it. */
function postableConversation(ws: SlackWorkspace, value: unknown, publicToo = false): SlackChannel {
  const channel = conversation(ws, value);
  if (publicToo && !channel.isPrivate) return channel;
  if (!channel.members.includes(ws.config.botUserId)) {
    throw new SlackApiError(channel.isPrivate ? 'channel_not_found' : 'not_in_channel');
  }
  return channel;
}

/** files.completeUploadExternal's `files`: a JSON array (a string, when form-encoded) of `{id, title?}`. */
function filesArgument(value: unknown): Array<{ id: string; title?: string }> | undefined {
  let list: unknown = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      throw invalidArguments('files must be a JSON array');
    }
  }
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.map((entry) => {
    if (!isRecord(entry) || typeof entry.id !== 'string') throw invalidArguments('each file needs an id');
    return { id: entry.id, ...(typeof entry.title === 'string' ? { title: entry.title } : {}) };
  });
}

// ---- messages

function messageContent(args: Args): Pick<SlackMessage, 'text' | 'blocks' | 'attachments'> {
  const text = typeof args.text === 'string' ? args.text : undefined;
  const blocks = args.blocks === undefined ? undefined : blocksOf(args.blocks);
  const attachments = Array.isArray(args.attachments) ? args.attachments : undefined;
  if (!text && !blocks?.length && !attachments?.length) throw new SlackApiError('no_text');
  // chat.postMessage truncates past 40,000 characters rather than refusing.
  return { text: (text ?? '').slice(0, MAX_TEXT), blocks, attachments };
}

function blocksOf(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new SlackApiError('invalid_blocks_format');
  if (value.length > MAX_MESSAGE_BLOCKS || !value.every(isBlock) || duplicateActionId(value)) {
    throw new SlackApiError('invalid_blocks');
  }
  return withBlockIds(value);
}

function isBlock(value: unknown): boolean {
  return isRecord(value) && typeof value.type === 'string' && blockProblem(value) === undefined;
}

/** Block Kit's per-field limits, as Slack's reference gives them for the blocks Deputy sends. */
const LIMITS = {
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  optionText: 75,
  optionValue: 150,
  id: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

const textOf = (value: unknown): string | undefined =>
  isRecord(value) && typeof value.text === 'string' ? value.text : undefined;
const over = (value: string | undefined, max: number) => value !== undefined && value.length > max;

/** Why Slack would refuse this block (`invalid_blocks`), or undefined when it is within the limits. */
function blockProblem(block: Args): string | undefined {
  if (over(str(block.block_id), LIMITS.id)) return 'block_id';
  switch (block.type) {
    case 'section': {
      if (over(textOf(block.text), LIMITS.sectionText)) return 'section text';
      const fields = Array.isArray(block.fields) ? block.fields : [];
      if (fields.length > LIMITS.sectionFields || fields.some((f) => over(textOf(f), LIMITS.fieldText)))
        return 'section fields';
      return isRecord(block.accessory) ? elementProblem(block.accessory) : undefined;
    }
    case 'header':
      return over(textOf(block.text), LIMITS.headerText) ? 'header text' : undefined;
    case 'context': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length > LIMITS.contextElements) return 'context elements';
      return elements.some((e) => over(textOf(e), LIMITS.sectionText)) ? 'context text' : undefined;
    }
    case 'actions': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length > LIMITS.actionsElements) return 'actions elements';
      for (const element of elements) {
        const problem = isRecord(element) ? elementProblem(element) : 'element';
        if (problem) return problem;
      }
      return undefined;
    }
    case 'input':
      return isRecord(block.element) ? elementProblem(block.element) : undefined;
    default:
      return undefined;
  }
}

function elementProblem(element: Args): string | undefined {
  if (over(str(element.action_id), LIMITS.id)) return 'action_id';
  if (element.type === 'button') {
    if (over(textOf(element.text), LIMITS.buttonText)) return 'button text';
    if (over(str(element.value), LIMITS.buttonValue)) return 'button value';
    if (over(str(element.url), LIMITS.url)) return 'button url';
  }
  const options = [
    ...(Array.isArray(element.options) ? element.options : []),
    ...(Array.isArray(element.initial_options) ? element.initial_options : []),
    ...(isRecord(element.initial_option) ? [element.initial_option] : []),
  ];
  for (const option of options) {
    if (!isRecord(option)) return 'option';
    if (over(textOf(option.text), LIMITS.optionText)) return 'option text';
    if (over(str(option.value), LIMITS.optionValue)) return 'option value';
  }
  if (isRecord(element.confirm)) {
    const confirm = element.confirm;
    if (over(textOf(confirm.title), LIMITS.confirmTitle) || over(textOf(confirm.text), LIMITS.confirmText))
      return 'confirm text';
    if (
      over(textOf(confirm.confirm), LIMITS.confirmButton) ||
      over(textOf(confirm.deny), LIMITS.confirmButton)
    )
      return 'confirm button';
  }
  return undefined;
}

// ---- views

/** Checks a view payload the way views.* refuse one (`invalid_arguments` with a reason). */
function viewSpec(value: unknown, kind: 'modal' | 'home'): Args {
  if (!isRecord(value)) throw invalidArguments('failed to match all allowed schemas [json-pointer:/view]');
  if (value.type !== kind) throw invalidArguments(`view type must be ${kind} [json-pointer:/view/type]`);
  const blocks = value.blocks;
  if (!Array.isArray(blocks) || !blocks.every(isBlock)) {
    throw invalidArguments('failed to match all allowed schemas [json-pointer:/view/blocks]');
  }
  if (blocks.length > MAX_VIEW_BLOCKS) {
    throw invalidArguments(`no more than ${MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]`);
  }
  const duplicate = duplicateActionId(blocks);
  if (duplicate) throw invalidArguments(`duplicate action_id ${duplicate} [json-pointer:/view/blocks]`);
  const seen = new Set<string>();
  for (const block of blocks as Args[]) {
    if (typeof block.block_id !== 'string') continue;
    if (seen.has(block.block_id)) {
      throw invalidArguments(`duplicate block_id ${block.block_id} [json-pointer:/view/blocks]`);
    }
    seen.add(block.block_id);
  }
  if (kind === 'modal') {
    for (const field of ['title', 'submit', 'close'] as const) {
      const text = isRecord(value[field]) ? (value[field] as Args).text : undefined;
      if (field === 'title' && typeof text !== 'string') {
        throw invalidArguments('must provide a title [json-pointer:/view/title]');
      }
      if (typeof text === 'string' && text.length > MAX_VIEW_TITLE) {
        throw invalidArguments(
          `must be less than ${MAX_VIEW_TITLE + 1} characters [json-pointer:/view/${field}/text]`,
        );
      }
    }
    if (blocks.some((b) => (b as Args).type === 'input') && !isRecord(value.submit)) {
      throw invalidArguments('must provide a submit property when using input blocks [json-pointer:/view]');
    }
  }
  if (typeof value.private_metadata === 'string' && value.private_metadata.length > MAX_PRIVATE_METADATA) {
    throw invalidArguments(
      `must be less than ${MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]`,
    );
  }
  return value;
}

// ---- users

function botUser(ws: SlackWorkspace): SlackUser {
  const c = ws.config;
  return {
    id: c.botUserId,
    teamId: c.teamId,
    ...(c.enterpriseId ? { enterpriseId: c.enterpriseId } : {}),
    name: c.botName,
    realName: c.botName,
    isAdmin: false,
    isOwner: false,
    isBot: true,
  };
}

/** A user object shaped like users.info's. */
export function userObject(ws: SlackWorkspace, user: SlackUser): Record<string, unknown> {
  const tz = user.tz ?? 'America/Los_Angeles';
  const { offsetSeconds, label } = timeZoneInfo(tz, ws.config.clock.now());
  const enterpriseId = user.enterpriseId ?? ws.config.enterpriseId;
  return {
    id: user.id,
    team_id: user.teamId,
    name: user.name,
    deleted: user.deleted === true,
    color: '9f69e7',
    real_name: user.realName,
    tz,
    tz_label: label,
    tz_offset: offsetSeconds,
    profile: {
      real_name: user.realName,
      real_name_normalized: user.realName,
      display_name: user.name,
      display_name_normalized: user.name,
      ...(user.email ? { email: user.email } : {}),
      team: user.teamId,
    },
    is_admin: user.isAdmin,
    is_owner: user.isOwner,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: user.isBot === true,
    is_app_user: false,
    updated: Math.floor(ws.config.clock.now() / 1000),
    ...(enterpriseId
      ? {
          enterprise_user: {
            id: user.id,
            enterprise_id: enterpriseId,
            enterprise_name: ws.config.enterpriseName ?? enterpriseId,
            is_admin: user.isAdmin,
            is_owner: user.isOwner,
            teams: [user.teamId],
          },
        }
      : {}),
  };
}

function timeZoneInfo(tz: string, at: number): { offsetSeconds: number; label: string } {
  try {
    const part = (style: 'longOffset' | 'long') =>
      new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: style })
        .formatToParts(at)
        .find((p) => p.type === 'timeZoneName')?.value ?? '';
    const match = /GMT([+-])(\d{2}):(\d{2})/.exec(part('longOffset'));
    const offsetSeconds = match
      ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 3600 + Number(match[3]) * 60)
      : 0;
    return { offsetSeconds, label: part('long') };
  } catch {
    return { offsetSeconds: 0, label: tz };
  }
}

// ---- argument helpers (form bodies carry everything as strings)

export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

export function bool(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}
