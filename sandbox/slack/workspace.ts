import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.js';
import { type IdSource, randomBase58 } from '../../src/ids.js';

/** A member of the emulated workspace. `id` is what signed payloads carry as `user_id`/`user.id`. */
export interface SlackUser {
  id: string;
  teamId: string;
  enterpriseId?: string;
  name: string;
  realName: string;
  isAdmin: boolean;
  isOwner: boolean;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
  email?: string;
}

export interface SlackChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** User ids, the bot's user id included when the app is in the channel. */
  members: string[];
  /** A direct message between the app and `user` (what conversations.open returns). */
  isIm?: boolean;
  user?: string;
}

/**
 * A user group (Slack calls it a subteam): mentioned as `<!subteam^ID>`, listed by usergroups.list.
 * `users` are the member user ids, in order.
 */
export interface SlackUserGroup {
  /** `S…`, as Slack's subteam ids are. */
  id: string;
  handle: string;
  name: string;
  description?: string;
  users: string[];
}

/** Where a message came from; emulator bookkeeping, never sent on the wire. */
export type MessageSource =
  | 'chat.postMessage'
  | 'chat.postEphemeral'
  | 'files.completeUploadExternal'
  | 'response_url'
  | 'ack'
  | 'user';

/**
 * A file the app uploads: named and sized by files.getUploadURLExternal, its bytes sent to the upload
 * URL, then completed (shared in a conversation, or kept private) by files.completeUploadExternal.
 */
export interface SlackFile {
  id: string;
  name: string;
  /** The byte length declared up front: the bytes sent must be exactly this many. */
  length: number;
  /** The secret part of the upload URL. */
  uploadToken: string;
  content?: Buffer;
  title?: string;
  completed: boolean;
}

/** A message as Slack's message object has it, plus two emulator fields (`source`, `visibleTo`). */
export interface SlackMessage {
  type: 'message';
  ts: string;
  channel: string;
  text: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  /** Files shared with the message (files.completeUploadExternal): their id, name and title. */
  files?: Array<{ id: string; name: string; title: string }>;
  metadata?: unknown;
  thread_ts?: string;
  reply_count?: number;
  latest_reply?: string;
  edited?: { user: string; ts: string };
  source: MessageSource;
  /** Set on ephemeral messages: the one user who sees it. */
  visibleTo?: string;
}

export type ViewStateValues = Record<string, Record<string, unknown>>;

/** A view object as views.* answer it, plus the user it is shown to (`userId`, emulator bookkeeping). */
export interface SlackView {
  id: string;
  team_id: string;
  type: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: ViewStateValues };
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  root_view_id: string | null;
  previous_view_id: string | null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
  userId?: string;
}

export interface WorkspaceConfig {
  clock: Clock;
  ids: IdSource;
  teamId: string;
  teamName: string;
  teamDomain: string;
  enterpriseId?: string;
  enterpriseName?: string;
  appId: string;
  botUserId: string;
  botId: string;
  botName: string;
  users: SlackUser[];
  channels: SlackChannel[];
  userGroups: SlackUserGroup[];
}

export const DEFAULT_TEAM_ID = 'T_DEPUTY';

/** Alice and Bob are ordinary members; Ada is a workspace admin. */
export function defaultSlackUsers(teamId = DEFAULT_TEAM_ID, enterpriseId?: string): SlackUser[] {
  const base = { teamId, ...(enterpriseId ? { enterpriseId } : {}) };
  return [
    {
      ...base,
      id: 'U_ALICE',
      name: 'alice',
      realName: 'Alice Archer',
      isAdmin: false,
      isOwner: false,
      tz: 'Europe/London',
    },
    {
      ...base,
      id: 'U_BOB',
      name: 'bob',
      realName: 'Bob Baker',
      isAdmin: false,
      isOwner: false,
      tz: 'America/New_York',
    },
    {
      ...base,
      id: 'U_ADMIN',
      name: 'ada',
      realName: 'Ada Lovelace',
      isAdmin: true,
      isOwner: false,
      tz: 'Europe/Berlin',
    },
  ];
}

/** One group, @approvers, holding the workspace's admins (Ada with the default people). */
export function defaultSlackUserGroups(users: SlackUser[]): SlackUserGroup[] {
  const admins = users.filter((u) => u.isAdmin && !u.deleted).map((u) => u.id);
  return [{ id: 'S_APPROVERS', handle: 'approvers', name: 'Approvers', users: admins }];
}

/**
 * #general holds everyone and the app; #random holds everyone but not the app (so posting there is
 * `not_in_channel`); #secret-project is private, holds Alice only.
 */
export function defaultSlackChannels(users: SlackUser[], botUserId: string): SlackChannel[] {
  const everyone = users.filter((u) => !u.deleted).map((u) => u.id);
  return [
    { id: 'C_GENERAL', name: 'general', members: [...everyone, botUserId] },
    { id: 'C_RANDOM', name: 'random', members: everyone },
    { id: 'C_SECRET', name: 'secret-project', isPrivate: true, members: everyone.slice(0, 1) },
  ];
}

/**
 * The state of the emulated workspace: people, conversations, messages and views. It knows nothing
 * of HTTP; the Web API methods (`web-api.ts`) decide what is allowed and call into it.
 */
export class SlackWorkspace {
  readonly config: WorkspaceConfig;
  private readonly usersById = new Map<string, SlackUser>();
  private readonly channelsById = new Map<string, SlackChannel>();
  private readonly userGroupsById = new Map<string, StoredUserGroup>();
  private readonly dms = new Map<string, string>();
  private readonly messagesByChannel = new Map<string, SlackMessage[]>();
  private readonly ephemeralsByUser = new Map<string, SlackMessage[]>();
  private readonly views = new Map<string, SlackView>();
  private readonly modalStacks = new Map<string, string[]>();
  private readonly homeViews = new Map<string, string>();
  private readonly filesById = new Map<string, SlackFile>();
  private lastMicros = 0;
  private readonly initialChannels: SlackChannel[];
  private readonly changeListeners = new Set<() => void>();

  constructor(config: WorkspaceConfig) {
    this.config = config;
    for (const user of config.users) this.usersById.set(user.id, { ...user });
    for (const group of config.userGroups) this.addUserGroup(group);
    this.initialChannels = config.channels.map((c) => ({ ...c, members: [...c.members] }));
    this.resetState();
  }

  /** Calls `listener` after anything people could see changes (messages, views, DMs); returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  get users(): SlackUser[] {
    return [...this.usersById.values()];
  }

  get channels(): SlackChannel[] {
    return [...this.channelsById.values()];
  }

  addUser(user: SlackUser): void {
    this.usersById.set(user.id, { ...user });
  }

  findUser(id: string): SlackUser | undefined {
    return this.usersById.get(id);
  }

  addChannel(channel: SlackChannel): void {
    this.channelsById.set(channel.id, { ...channel, members: [...channel.members] });
  }

  get userGroups(): SlackUserGroup[] {
    return [...this.userGroupsById.values()].map((g) => g.group);
  }

  /** Adds a user group, or replaces the one with the same id (keeping when it was created). */
  addUserGroup(group: SlackUserGroup): void {
    if (!/^S[A-Za-z0-9_]+$/.test(group.id)) {
      throw new Error(`Slack emulator: user group ids start with S (got ${JSON.stringify(group.id)})`);
    }
    const handleTaken = this.userGroups.find((g) => g.handle === group.handle && g.id !== group.id);
    if (handleTaken) throw new Error(`Slack emulator: user group handle @${group.handle} is taken`);
    const now = Math.floor(this.config.clock.now() / 1000);
    const created = this.userGroupsById.get(group.id)?.created ?? now;
    this.userGroupsById.set(group.id, {
      group: { ...group, users: [...group.users] },
      created,
      updated: now,
    });
  }

  /** The live group (change `users` to change its membership). */
  findUserGroup(id: string): SlackUserGroup | undefined {
    return this.userGroupsById.get(id)?.group;
  }

  /** Usergroup objects as usergroups.list answers them; `users` only when asked for. */
  userGroupObjects(includeUsers: boolean): Record<string, unknown>[] {
    return [...this.userGroupsById.values()].map((stored) => this.userGroupObject(stored, includeUsers));
  }

  private userGroupObject(stored: StoredUserGroup, includeUsers: boolean): Record<string, unknown> {
    const { group, created, updated } = stored;
    return {
      id: group.id,
      team_id: this.config.teamId,
      is_usergroup: true,
      is_subteam: true,
      name: group.name,
      description: group.description ?? '',
      handle: group.handle,
      is_external: false,
      date_create: created,
      date_update: updated,
      date_delete: 0,
      auto_type: null,
      created_by: 'USLACKBOT',
      updated_by: 'USLACKBOT',
      deleted_by: null,
      prefs: { channels: [], groups: [] },
      ...(includeUsers ? { users: [...group.users] } : {}),
      user_count: group.users.length,
    };
  }

  /** By id, or by name with or without `#` (chat.postMessage accepts both). */
  findChannel(idOrName: string): SlackChannel | undefined {
    const byId = this.channelsById.get(idOrName);
    if (byId) return byId;
    const name = idOrName.replace(/^#/, '');
    return [...this.channelsById.values()].find((c) => !c.isIm && c.name === name);
  }

  isMember(channel: SlackChannel, userId: string): boolean {
    return channel.members.includes(userId);
  }

  /** The app's DM with a user, opened on first use (Slack keeps one IM per pair). */
  openDm(userId: string): SlackChannel {
    const existing = this.dms.get(userId);
    if (existing) {
      const channel = this.channelsById.get(existing);
      if (channel) return channel;
    }
    let id = `D${userId.slice(1)}`;
    for (let n = 2; this.channelsById.has(id); n++) id = `D${userId.slice(1)}${n}`;
    const channel: SlackChannel = {
      id,
      name: userId,
      isPrivate: true,
      isIm: true,
      user: userId,
      members: [this.config.botUserId, userId],
    };
    this.channelsById.set(id, channel);
    this.dms.set(userId, id);
    this.changed();
    return channel;
  }

  hasDm(userId: string): boolean {
    return this.dms.has(userId);
  }

  /** Unique, increasing message timestamps in Slack's `seconds.micros` form, from the clock. */
  nextTs(): string {
    const micros = Math.max(Math.floor(this.config.clock.now()) * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  /** A message from the app into a conversation. */
  appMessage(
    channelId: string,
    content: Pick<SlackMessage, 'text' | 'blocks' | 'attachments' | 'metadata' | 'thread_ts' | 'files'>,
    source: MessageSource,
  ): SlackMessage {
    return this.addMessage(this.fromApp(channelId, content, source));
  }

  /** A new message authored by the app's bot user. */
  private fromApp(
    channelId: string,
    content: Pick<SlackMessage, 'text' | 'blocks' | 'attachments' | 'metadata' | 'thread_ts' | 'files'>,
    source: MessageSource,
  ): SlackMessage {
    return {
      type: 'message',
      ts: this.nextTs(),
      channel: channelId,
      user: this.config.botUserId,
      bot_id: this.config.botId,
      app_id: this.config.appId,
      team: this.config.teamId,
      ...stripUndefined(content),
      source,
    };
  }

  /** A message a person wrote (for driving `message` events). */
  userMessage(channelId: string, userId: string, text: string, threadTs?: string): SlackMessage {
    return this.addMessage({
      type: 'message',
      ts: this.nextTs(),
      channel: channelId,
      user: userId,
      team: this.config.teamId,
      text,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      source: 'user',
    });
  }

  private addMessage(message: SlackMessage): SlackMessage {
    const list = this.messagesByChannel.get(message.channel) ?? [];
    list.push(message);
    this.messagesByChannel.set(message.channel, list);
    if (message.thread_ts && message.thread_ts !== message.ts) {
      const parent = list.find((m) => m.ts === message.thread_ts);
      if (parent) {
        parent.thread_ts = parent.ts;
        parent.reply_count = (parent.reply_count ?? 0) + 1;
        parent.latest_reply = message.ts;
      }
    }
    this.changed();
    return message;
  }

  ephemeral(
    userId: string,
    channelId: string,
    content: Pick<SlackMessage, 'text' | 'blocks' | 'attachments' | 'thread_ts'>,
    source: MessageSource,
  ): SlackMessage {
    const message: SlackMessage = { ...this.fromApp(channelId, content, source), visibleTo: userId };
    const list = this.ephemeralsByUser.get(userId) ?? [];
    list.push(message);
    this.ephemeralsByUser.set(userId, list);
    this.changed();
    return message;
  }

  messages(channelId: string): readonly SlackMessage[] {
    return this.messagesByChannel.get(channelId) ?? [];
  }

  ephemerals(userId: string): readonly SlackMessage[] {
    return this.ephemeralsByUser.get(userId) ?? [];
  }

  findMessage(channelId: string, ts: string): SlackMessage | undefined {
    return this.messagesByChannel.get(channelId)?.find((m) => m.ts === ts);
  }

  findEphemeral(userId: string, ts: string): SlackMessage | undefined {
    return this.ephemeralsByUser.get(userId)?.find((m) => m.ts === ts);
  }

  /** Removes a message (delete_original); true when there was one. */
  removeMessage(message: SlackMessage): boolean {
    const list = message.visibleTo
      ? this.ephemeralsByUser.get(message.visibleTo)
      : this.messagesByChannel.get(message.channel);
    const index = list?.indexOf(message) ?? -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    this.changed();
    return true;
  }

  /** Replaces a message's content (chat.update, replace_original): text, and blocks/attachments when given. */
  editMessage(
    message: SlackMessage,
    content: { text?: string; blocks?: unknown[]; attachments?: unknown[] },
    options: { keepBlocks?: boolean } = {},
  ): void {
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks) message.blocks = content.blocks;
    else if (!options.keepBlocks) delete message.blocks;
    if (content.attachments) message.attachments = content.attachments;
    message.edited = { user: this.config.botUserId, ts: this.nextTs() };
    this.changed();
  }

  // ---- views

  /** A fresh hash per version, as Slack's `hash` changes with every update. */
  private viewHash(): string {
    return `${Math.floor(this.config.clock.now() / 1000)}.${this.config.ids.next('h').slice(2, 10)}`;
  }

  /** A view object from what the app sent (already validated), new or replacing `previous`. */
  buildView(spec: Record<string, unknown>, userId: string | undefined, previous?: SlackView): SlackView {
    const id = previous?.id ?? `V${this.config.ids.next('').slice(1, 11).toUpperCase()}`;
    const blocks = Array.isArray(spec.blocks) ? withBlockIds(spec.blocks as unknown[]) : [];
    return stripUndefined({
      id,
      team_id: this.config.teamId,
      type: String(spec.type),
      title: spec.title,
      submit: spec.submit,
      close: spec.close,
      blocks,
      private_metadata: typeof spec.private_metadata === 'string' ? spec.private_metadata : '',
      callback_id: typeof spec.callback_id === 'string' ? spec.callback_id : '',
      external_id: typeof spec.external_id === 'string' ? spec.external_id : '',
      // Slack keeps what was typed into inputs whose block_id/action_id survive an update.
      state: { values: previous ? keepState(previous.state.values, blocks) : {} },
      hash: this.viewHash(),
      clear_on_close: spec.clear_on_close === true,
      notify_on_close: spec.notify_on_close === true,
      root_view_id: previous?.root_view_id ?? null,
      previous_view_id: previous?.previous_view_id ?? null,
      app_id: this.config.appId,
      app_installed_team_id: this.config.teamId,
      bot_id: this.config.botId,
      userId,
    }) as SlackView;
  }

  view(id: string): SlackView | undefined {
    return this.views.get(id);
  }

  viewByExternalId(externalId: string): SlackView | undefined {
    if (!externalId) return undefined;
    return [...this.views.values()].find((v) => v.external_id === externalId);
  }

  saveView(view: SlackView): void {
    this.views.set(view.id, view);
    this.changed();
  }

  /** What a person has entered in a view's inputs; Slack keeps it server-side as they type. */
  setViewState(viewId: string, values: ViewStateValues): void {
    const view = this.views.get(viewId);
    if (view) view.state = { values };
  }

  openModal(userId: string | undefined, view: SlackView): void {
    view.root_view_id = view.id;
    this.saveView(view);
    if (userId) {
      for (const old of this.modalStacks.get(userId) ?? []) this.views.delete(old);
      this.modalStacks.set(userId, [view.id]);
    }
  }

  modalStack(userId: string): readonly string[] {
    return this.modalStacks.get(userId) ?? [];
  }

  pushModal(userId: string, view: SlackView): void {
    const stack = this.modalStacks.get(userId) ?? [];
    const below = stack[stack.length - 1];
    view.previous_view_id = below ?? null;
    view.root_view_id = stack[0] ?? view.id;
    this.saveView(view);
    this.modalStacks.set(userId, [...stack, view.id]);
  }

  /** Closes `viewId` and any view above it, as an empty submission acknowledgement does. */
  closeModal(userId: string, viewId: string): void {
    const stack = this.modalStacks.get(userId) ?? [];
    const at = stack.indexOf(viewId);
    if (at < 0) return;
    for (const id of stack.slice(at)) this.views.delete(id);
    this.modalStacks.set(userId, stack.slice(0, at));
    this.changed();
  }

  clearModals(userId: string): void {
    for (const id of this.modalStacks.get(userId) ?? []) this.views.delete(id);
    this.modalStacks.delete(userId);
    this.changed();
  }

  /** The modals open for `userId` (bottom to top), or every open modal. */
  openViews(userId?: string): SlackView[] {
    const users = userId === undefined ? [...this.modalStacks.keys()] : [userId];
    const open = users.flatMap((u) => this.modalStacks.get(u) ?? []).map((id) => this.views.get(id));
    const unowned = userId === undefined ? [...this.views.values()].filter((v) => isUnownedModal(v)) : [];
    return [...open.filter((v): v is SlackView => v !== undefined), ...unowned];
  }

  publishHome(userId: string, view: SlackView): void {
    this.saveView(view);
    this.homeViews.set(userId, view.id);
  }

  homeView(userId: string): SlackView | undefined {
    const id = this.homeViews.get(userId);
    return id ? this.views.get(id) : undefined;
  }

  /** Starts an upload: a file id, and the token of the URL its bytes go to. */
  startUpload(name: string, length: number): SlackFile {
    const file: SlackFile = {
      id: `F${randomBytes(5).toString('hex').toUpperCase()}`,
      name,
      length,
      uploadToken: randomBytes(16).toString('hex'),
      completed: false,
    };
    this.filesById.set(file.id, file);
    return file;
  }

  file(id: string): SlackFile | undefined {
    return this.filesById.get(id);
  }

  fileByUploadToken(token: string): SlackFile | undefined {
    return [...this.filesById.values()].find((f) => f.uploadToken === token && !f.completed);
  }

  /** Forgets messages, views and DMs; keeps people, user groups and the initial channels. */
  resetState(): void {
    this.filesById.clear();
    this.channelsById.clear();
    for (const c of this.initialChannels) this.channelsById.set(c.id, { ...c, members: [...c.members] });
    this.dms.clear();
    this.messagesByChannel.clear();
    this.ephemeralsByUser.clear();
    this.views.clear();
    this.modalStacks.clear();
    this.homeViews.clear();
    this.changed();
  }
}

interface StoredUserGroup {
  group: SlackUserGroup;
  /** Unix seconds by the clock, what `date_create`/`date_update` answer. */
  created: number;
  updated: number;
}

function isUnownedModal(view: SlackView): boolean {
  return view.userId === undefined && view.type === 'modal';
}

/** The state values whose block and action still exist in the new blocks. */
function keepState(values: ViewStateValues, blocks: unknown[]): ViewStateValues {
  const kept: ViewStateValues = {};
  for (const block of blocks) {
    if (!isRecord(block) || typeof block.block_id !== 'string') continue;
    const element = isRecord(block.element) ? block.element : undefined;
    const actionId = typeof element?.action_id === 'string' ? element.action_id : undefined;
    const old = values[block.block_id];
    if (actionId && old && actionId in old) kept[block.block_id] = { [actionId]: old[actionId] };
  }
  return kept;
}

/** Slack gives every block without a block_id one of its own, as messages and views come back. */
export function withBlockIds(blocks: unknown[]): unknown[] {
  return blocks.map((block) =>
    isRecord(block) && typeof block.block_id !== 'string' ? { ...block, block_id: randomBase58(5) } : block,
  );
}

/** Why Slack refuses these blocks: an action_id used twice in one block. */
export function duplicateActionId(blocks: unknown[]): string | undefined {
  for (const block of blocks) {
    const seen = new Set<string>();
    for (const { element } of interactiveElements([block])) {
      const id = String(element.action_id);
      if (seen.has(id)) return id;
      seen.add(id);
    }
  }
  return undefined;
}

/** An interactive element in blocks: actions/context `elements`, section `accessory`, input `element`. */
export interface FoundElement {
  blockId: string;
  element: Record<string, unknown>;
}

/** Every interactive element in `blocks`, in order, with its block's id. */
export function* interactiveElements(blocks: unknown): Generator<FoundElement> {
  if (!Array.isArray(blocks)) return;
  for (const block of blocks) {
    if (!isRecord(block)) continue;
    const candidates = [
      ...(Array.isArray(block.elements) ? block.elements : []),
      block.accessory,
      block.element,
    ];
    for (const element of candidates) {
      if (isRecord(element) && typeof element.action_id === 'string') {
        yield { blockId: typeof block.block_id === 'string' ? block.block_id : '', element };
      }
    }
  }
}

/** The element with this action_id (in the block with this block_id, when given). */
export function findActionElement(
  blocks: unknown,
  actionId: string,
  blockId?: string,
): FoundElement | undefined {
  for (const found of interactiveElements(blocks)) {
    if (found.element.action_id === actionId && (blockId === undefined || found.blockId === blockId))
      return found;
  }
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A message object as the Web API answers it (emulator fields removed). */
export function wireMessage(message: SlackMessage): Record<string, unknown> {
  const { source: _source, visibleTo: _visibleTo, channel: _channel, ...wire } = message;
  return wire;
}

/** A view object as the Web API answers it. */
export function wireView(view: SlackView): Record<string, unknown> {
  const { userId: _userId, ...wire } = view;
  return wire;
}
