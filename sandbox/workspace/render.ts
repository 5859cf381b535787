import { escapeHtml } from '../../src/http.js';
import type { SlackEmulator } from '../slack/emulator.js';
import { appManifest } from '../slack/manifest.js';
import {
  interactiveElements,
  isRecord,
  type SlackChannel,
  type SlackMessage,
  type SlackUser,
  type SlackView,
} from '../slack/workspace.js';
import { type RenderContext, renderBlocks, renderMrkdwn, renderText } from './block-kit.js';

/**
 * The browser workspace's screens as HTML fragments, rendered for one viewer from the Slack
 * emulator's state: only what that person could see in Slack (their channels, their DM with the
 * app, ephemeral messages meant for them, their own modals and Home tab).
 */

/** What the page is showing: a conversation (a channel id, or `app` for the DM with the app), a tab, a thread. */
export interface Viewpoint {
  conversation?: string;
  tab: 'messages' | 'home';
  thread?: string;
}

/** The page's regions; `modal.key` changes only when the modal does, so typing is not interrupted. */
export interface Screen {
  viewer: string | null;
  topbar: string;
  sidebar: string;
  main: string;
  thread: string;
  modal: { key: string; html: string } | null;
}

/** A view_submission's inline errors, for the version of the view (its hash) they were given on. */
export interface InlineErrors {
  hash: string;
  errors: Readonly<Record<string, string>>;
}

/** The DM with the app is addressed as `app` in the page, since its id exists only once opened. */
export const APP_CONVERSATION = 'app';

/** How many messages of a conversation the viewer has not seen yet (their unread mark). */
export type UnreadCount = (channelId: string) => number;

export function renderScreen(
  slack: SlackEmulator,
  viewer: string | undefined,
  at: Viewpoint,
  errorsByView: ReadonlyMap<string, InlineErrors>,
  unread: UnreadCount = () => 0,
): Screen {
  const user = viewer ? slack.workspace.findUser(viewer) : undefined;
  if (!user) {
    return {
      viewer: null,
      topbar: topbar(slack, undefined),
      sidebar: '',
      main: signInScreen(slack),
      thread: '',
      modal: null,
    };
  }
  const channels = memberChannels(slack, user.id);
  const channel = shownConversation(slack, user.id, at);
  const ctx = renderContext(slack, user.id);
  const modalView = topModal(slack, user.id);
  return {
    viewer: user.id,
    topbar: topbar(slack, user.id),
    sidebar: sidebar(appName(slack), channels, channel, at, unread, slack.dmChannelId(user.id)),
    main: channel ? conversationPane(slack, user.id, channel, at, ctx) : '',
    thread:
      channel && at.thread && at.tab === 'messages'
        ? threadPane(slack, user.id, channel, at.thread, ctx)
        : '',
    modal: modalView
      ? modal(modalView, {
          ...ctx,
          // Slack clears a modal's errors when the app updates it (a new hash).
          errors: errorsFor(errorsByView.get(modalView.id), modalView.hash),
          state: modalView.state.values,
        })
      : null,
  };
}

function errorsFor(found: InlineErrors | undefined, hash: string): Readonly<Record<string, string>> {
  return found?.hash === hash ? found.errors : {};
}

function memberChannels(slack: SlackEmulator, viewer: string): SlackChannel[] {
  return slack.channels.filter((c) => c.members.includes(viewer));
}

/**
 * The conversation a viewpoint names, if the viewer is in it (their DM with the app by `app` or by
 * its id, as a permalink names it); the app DM is opened on first look, as Slack does.
 */
export function shownConversation(
  slack: SlackEmulator,
  viewer: string,
  at: Viewpoint,
): SlackChannel | undefined {
  if (at.conversation === APP_CONVERSATION) return slack.channel(slack.dmChannelId(viewer));
  const channels = memberChannels(slack, viewer);
  const channel = channels.find((c) => c.id === at.conversation);
  if (channel || !at.conversation?.startsWith('D')) return channel ?? channels[0];
  const dm = slack.dmChannelId(viewer);
  return at.conversation === dm ? slack.channel(dm) : channels[0];
}

/** What mentions and selects may name for this viewer: private channels only when they are in them. */
function renderContext(slack: SlackEmulator, viewer: string): RenderContext {
  const ws = slack.workspace;
  const visible = slack.channels.filter((c) => !c.isPrivate || c.members.includes(viewer));
  return {
    userName: (id) => (id === slack.botUserId ? appName(slack) : ws.findUser(id)?.realName),
    channelName: (id) => {
      const channel = ws.findChannel(id);
      return channel && visible.includes(channel) ? channel.name : channel ? 'private channel' : undefined;
    },
    userGroupHandle: (id) => ws.findUserGroup(id)?.handle,
    users: people(slack).map((u) => ({ id: u.id, name: u.realName })),
    channels: visible.map((c) => ({ id: c.id, name: c.name })),
  };
}

/** The people of the workspace a page can be: not bots, not deactivated. */
function people(slack: SlackEmulator): SlackUser[] {
  return slack.users.filter((u) => !u.isBot && !u.deleted);
}

/** The app's display name (`deputy` → `Deputy`). */
function appName(slack: SlackEmulator): string {
  const name = slack.workspace.config.botName;
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function topModal(slack: SlackEmulator, userId: string): SlackView | undefined {
  const stack = slack.openViews(userId);
  return stack[stack.length - 1];
}

function topbar(slack: SlackEmulator, viewer: string | undefined): string {
  const options = people(slack)
    .map(
      (u) =>
        `<option value="${escapeHtml(u.id)}"${u.id === viewer ? ' selected' : ''}>${escapeHtml(u.realName)}${u.isAdmin || u.isOwner ? ' (admin)' : ''}</option>`,
    )
    .join('');
  const picker = viewer
    ? `<label class="ws-you">You are <select data-switch-user aria-label="Switch person">${options}</select></label>`
    : '';
  return `<div class="ws-team">${escapeHtml(slack.teamName)}</div><div class="ws-sandbox">Sandbox: emulated Slack, Anthropic and providers</div>${picker}`;
}

function signInScreen(slack: SlackEmulator): string {
  const choices = people(slack)
    .map(
      (u) =>
        `<button type="button" class="ws-person" data-switch-user="${escapeHtml(u.id)}"><strong>${escapeHtml(u.realName)}</strong> <span class="ws-muted">@${escapeHtml(u.name)}${u.isAdmin || u.isOwner ? ' · workspace admin' : ''}</span></button>`,
    )
    .join('');
  return `<div class="ws-signin"><h1>Sign in to ${escapeHtml(slack.teamName)}</h1>
<p>Pick who you are. Switch at any time from the top bar; each person sees only their own messages, DMs and modals.</p>
<div class="ws-people">${choices}</div></div>`;
}

/**
 * Channels, then direct messages (the DM with the app), each bold with a count when it holds
 * messages the viewer has not seen (ws-unread, data-unread), as Slack's sidebar marks them.
 */
function sidebar(
  app: string,
  channels: readonly SlackChannel[],
  current: SlackChannel | undefined,
  at: Viewpoint,
  unread: UnreadCount,
  dmChannelId: string,
): string {
  const mark = (channelId: string) => {
    const count = unread(channelId);
    return count > 0
      ? {
          cls: ' ws-has-unread',
          badge: `<span class="ws-unread" data-unread="${count}" aria-label="${count} unread">${count}</span>`,
        }
      : { cls: '', badge: '' };
  };
  const channelLinks = channels
    .map((c) => {
      const { cls, badge } = mark(c.id);
      return `<li><button type="button" class="ws-nav${current?.id === c.id ? ' ws-current' : ''}${cls}" data-nav="${escapeHtml(c.id)}">${c.isPrivate ? '🔒' : '#'} ${escapeHtml(c.name)}${badge}</button></li>`;
    })
    .join('');
  const inApp = current?.isIm === true;
  const dm = mark(dmChannelId);
  return `<h2>Channels</h2><ul>${channelLinks}</ul>
<h2>Direct messages</h2><ul><li><button type="button" class="ws-nav${inApp ? ' ws-current' : ''}${dm.cls}" data-nav="${APP_CONVERSATION}" data-tab="${inApp ? at.tab : 'messages'}">${escapeHtml(app)} <span class="ws-badge">APP</span>${dm.badge}</button></li></ul>
<p class="ws-hint">Type <code>/agent help</code> in a channel, or mention @${escapeHtml(app)}.</p>`;
}

function conversationPane(
  slack: SlackEmulator,
  viewer: string,
  channel: SlackChannel,
  at: Viewpoint,
  ctx: RenderContext,
): string {
  if (channel.isIm) {
    const tabs = `<nav class="ws-tabs"><button type="button" class="ws-tab${at.tab === 'home' ? ' ws-current' : ''}" data-nav="${APP_CONVERSATION}" data-tab="home">Home</button><button type="button" class="ws-tab${at.tab === 'messages' ? ' ws-current' : ''}" data-nav="${APP_CONVERSATION}" data-tab="messages">Messages</button></nav>`;
    const app = escapeHtml(appName(slack));
    const header = `<header class="ws-header"><h1>${app} <span class="ws-badge">APP</span></h1>${tabs}</header>`;
    if (at.tab === 'home') return `${header}${homeTab(slack, viewer, ctx)}`;
    return `${header}${timeline(slack, viewer, channel, ctx)}${composer(channel, `Message ${appName(slack)}`)}`;
  }
  const header = `<header class="ws-header"><h1>${channel.isPrivate ? '🔒' : '#'} ${escapeHtml(channel.name)}</h1><span class="ws-muted">${channel.members.length} members</span></header>`;
  return `${header}${timeline(slack, viewer, channel, ctx)}${composer(channel, `Message #${channel.name}, or type /agent help`)}`;
}

function homeTab(slack: SlackEmulator, viewer: string, ctx: RenderContext): string {
  const view = slack.homeView(viewer);
  if (!view)
    return `<div class="ws-empty">${escapeHtml(appName(slack))} has not published a Home tab for you yet.</div>`;
  return `<div class="ws-home" data-surface="view" data-view-id="${escapeHtml(view.id)}">${renderBlocks(view.blocks, { ...ctx, state: view.state.values, surface: view.id })}</div>`;
}

/** Top-level messages of a conversation, with the viewer's ephemeral messages in it, oldest first. */
function timeline(slack: SlackEmulator, viewer: string, channel: SlackChannel, ctx: RenderContext): string {
  const messages = [...slack.messages(channel.id), ...ephemeralsIn(slack, viewer, channel.id)]
    .filter((m) => !m.thread_ts || m.thread_ts === m.ts)
    .sort(byTs);
  const body = messages.length
    ? messages.map((m) => message(slack, m, ctx, true)).join('')
    : '<div class="ws-empty">No messages yet.</div>';
  return `<div class="ws-timeline" data-timeline>${body}</div>`;
}

function threadPane(
  slack: SlackEmulator,
  viewer: string,
  channel: SlackChannel,
  threadTs: string,
  ctx: RenderContext,
): string {
  // A link to a reply opens the thread it is in.
  const linked = slack.messages(channel.id).find((m) => m.ts === threadTs);
  const parent = linked?.thread_ts
    ? slack.messages(channel.id).find((m) => m.ts === linked.thread_ts)
    : linked;
  if (!parent) return '';
  threadTs = parent.ts;
  const replies = [...slack.messages(channel.id), ...ephemeralsIn(slack, viewer, channel.id)]
    .filter((m) => m.thread_ts === threadTs && m.ts !== threadTs)
    .sort(byTs);
  return `<header class="ws-header"><h1>Thread</h1><button type="button" class="ws-close" data-close-thread aria-label="Close thread">×</button></header>
<div class="ws-timeline ws-thread-timeline" data-timeline>${message(slack, parent, ctx, false)}<div class="ws-replies-count">${count(parent.reply_count ?? 0, 'reply', 'replies')}</div>${replies.map((m) => message(slack, m, ctx, false)).join('')}</div>
${composer(channel, 'Reply…', threadTs)}`;
}

function ephemeralsIn(slack: SlackEmulator, viewer: string, channelId: string): SlackMessage[] {
  return slack.ephemerals(viewer).filter((m) => m.channel === channelId);
}

function byTs(a: SlackMessage, b: SlackMessage): number {
  return Number(a.ts) - Number(b.ts);
}

function message(slack: SlackEmulator, m: SlackMessage, ctx: RenderContext, showReplies: boolean): string {
  const fromApp = m.bot_id !== undefined;
  const author = fromApp
    ? appName(slack)
    : (slack.workspace.findUser(m.user ?? '')?.realName ?? m.user ?? 'Someone');
  const content =
    Array.isArray(m.blocks) && m.blocks.length > 0
      ? renderBlocks(m.blocks, { ...ctx, surface: m.ts })
      : `<div class="bk-text">${renderMrkdwn(m.text, ctx)}</div>`;
  const ephemeral = m.visibleTo !== undefined;
  const replies =
    showReplies && m.reply_count
      ? `<button type="button" class="ws-replies" data-open-thread="${escapeHtml(m.ts)}">${count(m.reply_count, 'reply', 'replies')}</button>`
      : '';
  const reply =
    showReplies && !ephemeral
      ? `<button type="button" class="ws-reply" data-open-thread="${escapeHtml(m.ts)}">Reply in thread</button>`
      : '';
  // Slack's "More actions" on a message: the app's message shortcuts (its manifest's).
  const shortcuts = ephemeral ? [] : appManifest().messageShortcuts;
  const more = shortcuts.length
    ? `<details class="ws-more"><summary class="ws-more-button" aria-label="More actions" title="More actions">⋮</summary><div class="ws-more-menu" role="menu">${shortcuts
        .map(
          (s) =>
            `<button type="button" role="menuitem" data-shortcut="${escapeHtml(s.callbackId)}">${escapeHtml(s.name)} <span class="ws-muted">${escapeHtml(appName(slack))}</span></button>`,
        )
        .join('')}</div></details>`
    : '';
  // Sandbox only: send a click on this message as someone else, the forged request Slack never sends.
  const forge =
    !ephemeral && fromApp && hasButtons(m.blocks)
      ? `<button type="button" class="ws-forge" data-forge title="Sandbox: click a button here as someone else">Try as…</button>`
      : '';
  return `<div class="ws-msg${ephemeral ? ' ws-ephemeral' : ''}" data-surface="message" data-channel="${escapeHtml(m.channel)}" data-ts="${escapeHtml(m.ts)}"${ephemeral ? ' data-ephemeral="true"' : ''}>
<div class="ws-avatar${fromApp ? ' ws-avatar-app' : ''}" aria-hidden="true">${escapeHtml(author.charAt(0))}</div>
<div class="ws-msg-body"><div class="ws-meta"><span class="ws-author">${escapeHtml(author)}</span>${fromApp ? '<span class="ws-badge">APP</span>' : ''}<time>${escapeHtml(clockTime(m.ts))}</time>${m.edited ? '<span class="ws-muted">(edited)</span>' : ''}<span class="ws-msg-tools">${reply}${forge}${more}</span></div>
${content}${attachments(m.attachments, ctx)}${ephemeral ? '<div class="ws-only-you">Only visible to you</div>' : ''}${replies}</div></div>`;
}

function attachments(list: unknown[] | undefined, ctx: RenderContext): string {
  if (!list?.length) return '';
  return list
    .filter(isRecord)
    .map((a) => {
      const inner = Array.isArray(a.blocks)
        ? renderBlocks(a.blocks, ctx)
        : renderMrkdwn(String(a.text ?? a.fallback ?? ''), ctx);
      return `<div class="ws-attachment">${inner}</div>`;
    })
    .join('');
}

function hasButtons(blocks: unknown[] | undefined): boolean {
  return [...interactiveElements(blocks)].some(({ element }) => element.type === 'button' && !element.url);
}

function clockTime(ts: string): string {
  return new Date(Number(ts) * 1000).toISOString().slice(11, 16);
}

function composer(channel: SlackChannel, placeholder: string, threadTs?: string): string {
  return `<form class="ws-composer" data-composer data-channel="${escapeHtml(channel.id)}"${threadTs ? ` data-thread="${escapeHtml(threadTs)}"` : ''}>
<input name="text" autocomplete="off" placeholder="${escapeHtml(placeholder)}" aria-label="${escapeHtml(placeholder)}"><button type="submit">Send</button></form>`;
}

function modal(view: SlackView, ctx: RenderContext): { key: string; html: string } {
  const errors = ctx.errors ?? {};
  const title = view.title === undefined ? 'Modal' : renderText(view.title, ctx);
  const close = view.close === undefined ? 'Cancel' : renderText(view.close, ctx);
  const submit =
    view.submit === undefined
      ? ''
      : `<button type="submit" class="bk-button bk-primary">${renderText(view.submit, ctx)}</button>`;
  const html = `<div class="ws-backdrop"><form class="ws-modal" data-surface="view" data-view-id="${escapeHtml(view.id)}" role="dialog" aria-label="${escapeHtml(plain(view.title))}">
<header><h2>${title}</h2><button type="button" class="ws-close" data-modal-close aria-label="Close">×</button></header>
<div class="ws-modal-body">${renderBlocks(view.blocks, { ...ctx, surface: view.id })}</div>
<footer><button type="button" class="bk-button" data-modal-close>${close}</button>${submit}</footer></form></div>`;
  return { key: `${view.id}:${view.hash}:${JSON.stringify(errors)}`, html };
}

function plain(text: unknown): string {
  return isRecord(text) && typeof text.text === 'string' ? text.text : 'Modal';
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
