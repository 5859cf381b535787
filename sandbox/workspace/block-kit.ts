import { escapeHtml } from '../../src/http.js';
import { interactiveElements, isRecord, type ViewStateValues } from '../slack/workspace.js';

/**
 * Block Kit → HTML fragments for the sandbox's Slack workspace page (messages, App Home, modals).
 *
 * Blocks come from the app under test, so nothing in them is trusted: every string is HTML-escaped,
 * links keep only http(s) and mailto URLs and images only http(s) (anything else shows as text), and
 * no markup carries event handlers or styles. Malformed input never throws; unknown block and element
 * types render as a small `bk-unknown` placeholder.
 *
 * The page's script relies on these data attributes on each interactive element's root node:
 *   data-action-id, data-block-id ('' when the block has none), data-type (the Slack element type);
 *   data-value on buttons; data-dispatch="true" where a change fires block_actions; data-input="true"
 *   on every non-button element, whose native controls it reads (text: one input/textarea
 *   name="value"; selects: <select>; multi selects: a picker of checkboxes; radios; checkboxes); data-confirm
 *   holds a confirm dialog as JSON {title, text, confirm, deny}.
 *
 * Classes:
 *   blocks     bk-block + bk-section | bk-header | bk-divider | bk-context | bk-image | bk-actions |
 *              bk-input | bk-rich_text | bk-markdown; bk-has-error on an input block showing an error
 *   section    bk-section-body, bk-section-text, bk-fields, bk-field, bk-accessory
 *   header     bk-header-text
 *   context    bk-context-item
 *   image      bk-image-title, bk-img (every <img>), bk-image-alt (alt text shown instead of an unsafe URL)
 *   input      bk-label, bk-optional, bk-hint, bk-error
 *   elements   bk-button (+ bk-primary | bk-danger, + bk-link-button for url buttons);
 *              bk-element + bk-<slack type> for every other interactive element's root;
 *              bk-select on every <select>; bk-options on radio and checkbox groups, whose choices are
 *              bk-option (a <label>) holding bk-option-text and bk-option-description; multi selects
 *              bk-picker (see picker())
 *   text       bk-mention (+ bk-broadcast for @here/@channel/@everyone), bk-link, bk-code, bk-pre, bk-quote
 *   rich text  bk-rt-section, bk-rt-list + bk-rt-indent-0…8
 *   fallback   bk-unknown
 */

export interface RenderContext {
  /** For `<@U…>` mentions and user selects. */
  userName(id: string): string | undefined;
  /** For `<#C…>` mentions and conversation selects. */
  channelName(id: string): string | undefined;
  /** For `<!subteam^S…>` mentions. */
  userGroupHandle(id: string): string | undefined;
  /** Options of users selects. */
  users: ReadonlyArray<{ id: string; name: string }>;
  /** Options of conversations and channels selects. */
  channels: ReadonlyArray<{ id: string; name: string }>;
  /** Inline errors (view_submission response_action "errors"), by block_id. */
  errors?: Readonly<Record<string, string>>;
  /** Current state of inputs (by block_id, action_id), so a re-render keeps what was chosen. */
  state?: ViewStateValues;
  /** Names the surface (a message or view) so radio groups of different surfaces stay apart. */
  surface?: string;
}

/** What the page's form holds for one element: the selected values (text → [text], nothing chosen → []). */
export interface FormInput {
  blockId: string;
  actionId: string;
  type: string;
  values: string[];
}

type Json = Record<string, unknown>;

/** Where an element sits: its block's id, and whether a change fires block_actions at once. */
interface Place {
  blockId: string;
  dispatch: boolean;
  ctx: RenderContext;
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

const WEB_SCHEMES = ['http', 'https'] as const;
const LINK_SCHEMES = ['http', 'https', 'mailto'] as const;

type AttrValue = string | number | boolean | undefined;

/** ` name="value"` pairs, escaped; `true` is a bare attribute, `false`/`undefined` leave it out. */
function attrs(values: Readonly<Record<string, AttrValue>>): string {
  let out = '';
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === false) continue;
    out += value === true ? ` ${name}` : ` ${name}="${escapeHtml(String(value))}"`;
  }
  return out;
}

/** The URL when it parses and its scheme, read from the raw text before any parser normalises it, is allowed. */
function safeUrl(raw: unknown, schemes: readonly string[]): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  return scheme && schemes.includes(scheme) && URL.canParse(raw) ? raw : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Each item of `items` (when it is an array) rendered, joined. */
function mapJoin(items: unknown, render: (item: unknown) => string): string {
  return list(items).map(render).join('');
}

/** A record's own property only: block and action ids are input, and `constructor` is not an error. */
function own(record: Readonly<Record<string, unknown>> | undefined, key: string): unknown {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

function unsupported(kind: 'block' | 'element', type: unknown, tag: 'div' | 'span' = 'div'): string {
  const name = typeof type === 'string' && type !== '' ? type : '(no type)';
  return `<${tag} class="bk-unknown">Unsupported ${kind}: ${escapeHtml(name)}</${tag}>`;
}

// ---------------------------------------------------------------------------------------------------
// Text: text objects, mrkdwn, mentions, emoji

/** A handful of shortcodes the apps here use; the rest stay as written. */
const EMOJI = new Map<string, string>([
  ['white_check_mark', '✅'],
  ['heavy_check_mark', '✔️'],
  ['x', '❌'],
  ['warning', '⚠️'],
  ['no_entry', '⛔'],
  ['lock', '🔒'],
  ['wave', '👋'],
  ['hourglass', '⌛'],
  ['hourglass_flowing_sand', '⏳'],
  ['repeat', '🔁'],
  ['raised_hand', '✋'],
  ['hand', '✋'],
  ['gear', '⚙️'],
]);

function withEmoji(text: string): string {
  return text.replace(/:([a-z0-9_+-]+):/g, (code, name: string) => EMOJI.get(name) ?? code);
}

/** Slack escapes exactly these three in mrkdwn; everything else is literal. */
function unescapeSlack(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, name: string) =>
    name === 'amp' ? '&' : name === 'lt' ? '<' : '>',
  );
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A text object as one plain string (for options, placeholders and attributes), no markup. */
function plainString(text: unknown): string {
  if (typeof text === 'string') return text;
  if (!isRecord(text) || typeof text.text !== 'string') return '';
  if (text.type === 'mrkdwn') return unescapeSlack(text.text);
  return text.emoji === true ? withEmoji(text.text) : text.text;
}

/** A text object (plain_text or mrkdwn) as HTML. A bare string counts as plain text. */
export function renderText(text: unknown, ctx: RenderContext): string {
  if (isRecord(text) && text.type === 'mrkdwn') return renderMrkdwn(str(text.text), ctx);
  return escapeHtml(plainString(text)).replace(/\n/g, '<br>');
}

/** Slack's mrkdwn as HTML: code blocks first, since nothing inside them is formatting. */
export function renderMrkdwn(text: string, ctx: RenderContext): string {
  if (typeof text !== 'string') return '';
  let html = '';
  let rest = 0;
  for (const fence of text.matchAll(/```([\s\S]*?)```/g)) {
    html += mrkdwnLines(text.slice(rest, fence.index).replace(/\n$/, ''), ctx);
    const code = (fence[1] ?? '').replace(/^\n/, '');
    html += `<pre class="bk-pre">${escapeHtml(unescapeSlack(code))}</pre>`;
    rest = fence.index + fence[0].length;
  }
  const tail = text.slice(rest);
  return html + mrkdwnLines(rest > 0 ? tail.replace(/^\n/, '') : tail, ctx);
}

/** Lines joined by <br>, runs of `> ` lines as one blockquote. */
function mrkdwnLines(text: string, ctx: RenderContext): string {
  if (text === '') return '';
  const runs: { quote: boolean; lines: string[] }[] = [];
  for (const line of text.split('\n')) {
    // Slack sends the quote marker either raw or escaped.
    const marker = /^(?:>|&gt;) ?/.exec(line)?.[0];
    const body = marker === undefined ? line : line.slice(marker.length);
    const run = runs.at(-1);
    if (run && run.quote === (marker !== undefined)) run.lines.push(body);
    else runs.push({ quote: marker !== undefined, lines: [body] });
  }
  return runs
    .map((run) => {
      const inner = run.lines.map((line) => mrkdwnInline(line, ctx)).join('<br>');
      return run.quote ? `<blockquote class="bk-quote">${inner}</blockquote>` : inner;
    })
    .join('');
}

// Private-use characters mark where finished HTML (code spans, links, mentions) goes back in, so
// emphasis can wrap a link but never reach inside one.
const HOLD_START = '\uE000';
const HOLD_END = '\uE001';

/** *bold*, _italic_, ~strike~: the marker hugs the text and does not sit inside a word. */
const EMPHASIS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(^|[^\p{L}\p{N}*])\*([^*\s](?:[^*\n]*?[^*\s])?)\*(?![\p{L}\p{N}*])/gu, 'strong'],
  [/(^|[^\p{L}\p{N}_])_([^_\s](?:[^_\n]*?[^_\s])?)_(?![\p{L}\p{N}_])/gu, 'em'],
  [/(^|[^\p{L}\p{N}~])~([^~\s](?:[^~\n]*?[^~\s])?)~(?![\p{L}\p{N}~])/gu, 'del'],
];

function mrkdwnInline(line: string, ctx: RenderContext): string {
  const held: string[] = [];
  const hold = (html: string) => `${HOLD_START}${held.push(html) - 1}${HOLD_END}`;
  let text = line.replace(/[\uE000\uE001]/g, '');
  text = text.replace(/`([^`]+)`/g, (_, code: string) =>
    hold(`<code class="bk-code">${escapeHtml(unescapeSlack(code))}</code>`),
  );
  // Raw < and > only ever delimit Slack's links and mentions; literal ones arrive as &lt; &gt;.
  text = text.replace(/<([^<>]*)>/g, (_, inner: string) => hold(angleEntity(inner, ctx)));
  // Slack links bare URLs in mrkdwn too (trailing punctuation stays text).
  text = text.replace(/\bhttps?:\/\/[^\s<>\uE000\uE001]*[^\s<>.,;:!?)'"\uE000\uE001]/g, (url) =>
    hold(link(unescapeSlack(url), undefined)),
  );
  let html = withEmoji(escapeHtml(unescapeSlack(text)));
  for (const [pattern, tag] of EMPHASIS) {
    html = html.replace(pattern, (_, before: string, inner: string) => `${before}<${tag}>${inner}</${tag}>`);
  }
  return html.replace(/\uE000(\d+)\uE001/g, (_, index: string) => held[Number(index)] ?? '');
}

/** `<https://x|label>`, `<@U1>`, `<#C1|name>`, `<!subteam^S1>`, `<!here>`, `<!date^…|fallback>`. */
function angleEntity(inner: string, ctx: RenderContext): string {
  const bar = inner.indexOf('|');
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? undefined : unescapeSlack(inner.slice(bar + 1));
  if (target.startsWith('@')) return userMention(target.slice(1), ctx, label);
  if (target.startsWith('#')) return channelMention(target.slice(1), ctx, label);
  if (target.startsWith('!')) {
    const [command = '', argument = ''] = target.slice(1).split('^');
    if (command === 'subteam') return groupMention(argument, ctx, label);
    if (command === 'here' || command === 'channel' || command === 'everyone') return broadcast(command);
    if (command === 'date') return escapeHtml(label ?? '');
    return escapeHtml(label ?? unescapeSlack(target));
  }
  return link(unescapeSlack(target), label);
}

function link(url: unknown, label: string | undefined): string {
  const href = safeUrl(url, LINK_SCHEMES);
  const text = escapeHtml(label || str(url));
  if (!href) return text;
  return `<a${attrs({ class: 'bk-link', href, target: '_blank', rel: 'noopener noreferrer' })}>${text}</a>`;
}

function mention(text: string, broadcastClass = ''): string {
  return `<span class="bk-mention${broadcastClass}">${escapeHtml(text)}</span>`;
}

function userMention(id: string, ctx: RenderContext, label?: string): string {
  return mention(`@${ctx.userName(id) ?? (label || id)}`);
}

function channelMention(id: string, ctx: RenderContext, label?: string): string {
  return mention(`#${ctx.channelName(id) ?? (label || id)}`);
}

function groupMention(id: string, ctx: RenderContext, label?: string): string {
  const handle = ctx.userGroupHandle(id) ?? (label?.replace(/^@/, '') || id);
  return mention(`@${handle}`);
}

function broadcast(range: string): string {
  return mention(`@${range}`, ' bk-broadcast');
}

/** The `markdown` block's standard markdown, near enough as mrkdwn: links, **bold**, # headings. */
function markdownAsMrkdwn(text: string): string {
  return escapeSlack(text)
    .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, '<$2|$1>')
    .replace(/\*\*([^*\n]+)\*\*/g, '*$1*')
    .replace(/^#{1,6} +(.+)$/gm, '*$1*');
}

// ---------------------------------------------------------------------------------------------------
// Blocks

/** The blocks as HTML, one `bk-block` div each. Anything but an array renders as nothing. */
export function renderBlocks(blocks: unknown, ctx: RenderContext): string {
  return mapJoin(blocks, (block) => renderBlock(block, ctx));
}

function renderBlock(block: unknown, ctx: RenderContext): string {
  if (!isRecord(block)) return unsupported('block', undefined);
  const blockId = str(block.block_id);
  // Outside input blocks every change is an action; inside them only when the block asks.
  const place: Place = { blockId, dispatch: block.type !== 'input' || block.dispatch_action === true, ctx };
  const wrap = (type: string, inner: string, extraClass = '') =>
    `<div${attrs({ class: `bk-block bk-${type}${extraClass}`, 'data-block-id': blockId })}>${inner}</div>`;
  switch (block.type) {
    case 'section':
      return wrap('section', sectionBlock(block, place));
    case 'header':
      return wrap('header', `<h2 class="bk-header-text">${renderText(block.text, ctx)}</h2>`);
    case 'divider':
      return wrap('divider', '<hr>');
    case 'context':
      return wrap('context', contextBlock(block, ctx));
    case 'image':
      return wrap('image', imageBlock(block, ctx));
    case 'actions':
      return wrap(
        'actions',
        mapJoin(block.elements, (element) => renderElement(element, place)),
      );
    case 'input': {
      const error = own(ctx.errors, blockId);
      const hasError = typeof error === 'string' && error !== '';
      return wrap(
        'input',
        inputBlock(block, place, hasError ? error : undefined),
        hasError ? ' bk-has-error' : '',
      );
    }
    case 'rich_text':
      return wrap(
        'rich_text',
        mapJoin(block.elements, (part) => richTextPart(part, ctx)),
      );
    case 'markdown':
      return wrap('markdown', renderMrkdwn(markdownAsMrkdwn(str(block.text)), ctx));
    default:
      return unsupported('block', block.type);
  }
}

function sectionBlock(block: Json, place: Place): string {
  const text =
    block.text === undefined ? '' : `<div class="bk-section-text">${renderText(block.text, place.ctx)}</div>`;
  const fields = Array.isArray(block.fields)
    ? `<div class="bk-fields">${mapJoin(block.fields, (field) => `<div class="bk-field">${renderText(field, place.ctx)}</div>`)}</div>`
    : '';
  const accessory =
    block.accessory === undefined
      ? ''
      : `<div class="bk-accessory">${renderElement(block.accessory, place)}</div>`;
  return `<div class="bk-section-body">${text}${fields}</div>${accessory}`;
}

function contextBlock(block: Json, ctx: RenderContext): string {
  return mapJoin(block.elements, (element) => {
    if (!isRecord(element)) return unsupported('element', undefined);
    if (element.type === 'image') return image(element.image_url, element.alt_text);
    if (element.type === 'plain_text' || element.type === 'mrkdwn') {
      return `<span class="bk-context-item">${renderText(element, ctx)}</span>`;
    }
    return unsupported('element', element.type);
  });
}

function imageBlock(block: Json, ctx: RenderContext): string {
  const title =
    block.title === undefined ? '' : `<div class="bk-image-title">${renderText(block.title, ctx)}</div>`;
  return title + image(block.image_url, block.alt_text);
}

/** An <img> for an http(s) URL; otherwise its alt text, so a bad URL never reaches `src`. */
function image(url: unknown, altText: unknown): string {
  const alt = str(altText);
  const src = safeUrl(url, WEB_SCHEMES);
  if (!src) return `<span class="bk-image-alt">${escapeHtml(alt || 'image')}</span>`;
  return `<img${attrs({ class: 'bk-img', src, alt, loading: 'lazy', referrerpolicy: 'no-referrer' })}>`;
}

function inputBlock(block: Json, place: Place, error: string | undefined): string {
  const optional = block.optional === true ? ' <span class="bk-optional">(optional)</span>' : '';
  const label = `<div class="bk-label">${renderText(block.label, place.ctx)}${optional}</div>`;
  const errorHtml =
    error === undefined ? '' : `<div class="bk-error" role="alert">${escapeHtml(error)}</div>`;
  const hint =
    block.hint === undefined ? '' : `<div class="bk-hint">${renderText(block.hint, place.ctx)}</div>`;
  return label + renderElement(block.element, place) + errorHtml + hint;
}

// ---------------------------------------------------------------------------------------------------
// Rich text (a reasonable subset: sections, lists, preformatted, quotes and their inline elements)

function richTextPart(part: unknown, ctx: RenderContext): string {
  if (!isRecord(part)) return unsupported('element', undefined);
  switch (part.type) {
    case 'rich_text_section':
      return `<div class="bk-rt-section">${richInline(part.elements, ctx, false)}</div>`;
    case 'rich_text_preformatted':
      return `<pre class="bk-pre">${richInline(part.elements, ctx, true)}</pre>`;
    case 'rich_text_quote':
      return `<blockquote class="bk-quote">${richInline(part.elements, ctx, false)}</blockquote>`;
    case 'rich_text_list':
      return richTextList(part, ctx);
    default:
      return unsupported('element', part.type);
  }
}

/** Slack nests lists by `indent` on flat lists, so each list carries its depth as a class. */
function richTextList(part: Json, ctx: RenderContext): string {
  const tag = part.style === 'ordered' ? 'ol' : 'ul';
  const indent = Number.isInteger(part.indent) ? Math.min(Math.max(Number(part.indent), 0), 8) : 0;
  const offset = Number.isInteger(part.offset) && Number(part.offset) > 0 ? Number(part.offset) : 0;
  const items = mapJoin(
    part.elements,
    (item) => `<li>${isRecord(item) ? richInline(item.elements, ctx, false) : ''}</li>`,
  );
  const start = tag === 'ol' && offset > 0 ? offset + 1 : undefined;
  return `<${tag}${attrs({ class: `bk-rt-list bk-rt-indent-${indent}`, start })}>${items}</${tag}>`;
}

function richInline(elements: unknown, ctx: RenderContext, preformatted: boolean): string {
  return mapJoin(elements, (element) =>
    isRecord(element) ? richStyled(richInlineContent(element, ctx, preformatted), element.style) : '',
  );
}

function richInlineContent(element: Json, ctx: RenderContext, preformatted: boolean): string {
  switch (element.type) {
    case 'text': {
      const text = escapeHtml(str(element.text));
      return preformatted ? text : text.replace(/\n/g, '<br>');
    }
    case 'link':
      return link(element.url, str(element.text) || undefined);
    case 'user':
      return userMention(str(element.user_id), ctx);
    case 'usergroup':
      return groupMention(str(element.usergroup_id), ctx);
    case 'channel':
      return channelMention(str(element.channel_id), ctx);
    case 'broadcast':
      return broadcast(str(element.range));
    case 'emoji':
      return escapeHtml(emojiOf(element));
    case 'date':
      return escapeHtml(str(element.fallback));
    case 'color':
      return escapeHtml(str(element.value));
    default:
      return unsupported('element', element.type, 'span');
  }
}

/** An emoji element's character: its `unicode` code points when valid, else a known name, else `:name:`. */
function emojiOf(element: Json): string {
  const unicode = str(element.unicode);
  if (/^[0-9a-f]{1,6}(-[0-9a-f]{1,6})*$/i.test(unicode)) {
    const points = unicode.split('-').map((hex) => Number.parseInt(hex, 16));
    if (points.every((point) => point <= 0x10ffff)) return String.fromCodePoint(...points);
  }
  const name = str(element.name);
  return EMOJI.get(name) ?? `:${name}:`;
}

function richStyled(html: string, style: unknown): string {
  if (!isRecord(style)) return html;
  let out = html;
  if (style.code === true) out = `<code class="bk-code">${out}</code>`;
  if (style.strike === true) out = `<del>${out}</del>`;
  if (style.italic === true) out = `<em>${out}</em>`;
  if (style.bold === true) out = `<strong>${out}</strong>`;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Elements

function renderElement(element: unknown, place: Place): string {
  if (!isRecord(element)) return unsupported('element', undefined);
  switch (element.type) {
    case 'button':
      return button(element, place);
    case 'image':
      return image(element.image_url, element.alt_text);
    case 'plain_text_input':
    case 'url_text_input':
    case 'email_text_input':
    case 'number_input':
    case 'datepicker':
    case 'timepicker':
      return textField(element, element.type, place);
    case 'static_select':
    case 'multi_static_select':
      return select(element, element.type, place, staticChoices(element));
    case 'users_select':
    case 'multi_users_select':
      return select(element, element.type, place, [
        { choices: place.ctx.users.map((user) => ({ value: user.id, label: user.name })) },
      ]);
    case 'conversations_select':
    case 'multi_conversations_select':
    case 'channels_select':
    case 'multi_channels_select':
      return select(element, element.type, place, [
        { choices: place.ctx.channels.map((channel) => ({ value: channel.id, label: `#${channel.name}` })) },
      ]);
    case 'overflow':
      return overflow(element, place);
    case 'radio_buttons':
    case 'checkboxes':
      return choiceList(element, element.type, place);
    default:
      return unsupported('element', element.type);
  }
}

/** The three attributes the page finds every interactive element by. */
function identity(element: Json, type: string, place: Place): Record<string, AttrValue> {
  return {
    'data-action-id': str(element.action_id),
    'data-block-id': place.blockId,
    'data-type': type,
  };
}

/** A confirm object as the JSON the page shows before acting: plain strings, Slack-like defaults. */
function confirmJson(confirm: unknown): string | undefined {
  if (!isRecord(confirm)) return undefined;
  return JSON.stringify({
    title: plainString(confirm.title) || 'Are you sure?',
    text: plainString(confirm.text),
    confirm: plainString(confirm.confirm) || 'Yes',
    deny: plainString(confirm.deny) || 'Cancel',
    // Slack shows a destructive confirmation's button red.
    danger: confirm.style === 'danger',
  });
}

/** A button, or a link button (`<a>`) for an http(s) `url`: the page opens it and sends the click. */
function button(element: Json, place: Place): string {
  const style = element.style === 'primary' || element.style === 'danger' ? ` bk-${element.style}` : '';
  const common = {
    ...identity(element, 'button', place),
    'data-value': typeof element.value === 'string' ? element.value : undefined,
    'data-confirm': confirmJson(element.confirm),
    'aria-label': typeof element.accessibility_label === 'string' ? element.accessibility_label : undefined,
  };
  const label = escapeHtml(plainString(element.text));
  const href = safeUrl(element.url, WEB_SCHEMES);
  if (href) {
    const linkAttrs = {
      class: `bk-button bk-link-button${style}`,
      href,
      target: '_blank',
      rel: 'noopener noreferrer',
    };
    return `<a${attrs({ ...linkAttrs, ...common })}>${label}</a>`;
  }
  return `<button${attrs({ type: 'button', class: `bk-button${style}`, ...common })}>${label}</button>`;
}

/** The root of every non-button element: a form input the page reads, dispatching where it should. */
function inputRoot(
  element: Json,
  type: string,
  place: Place,
  inner: string,
  extra: Record<string, AttrValue> = {},
): string {
  return `<div${attrs({
    class: `bk-element bk-${type}`,
    ...identity(element, type, place),
    'data-input': 'true',
    'data-dispatch': place.dispatch ? 'true' : undefined,
    'data-confirm': confirmJson(element.confirm),
    ...extra,
  })}>${inner}</div>`;
}

const NATIVE_INPUT_TYPES: Readonly<Record<string, string>> = {
  plain_text_input: 'text',
  url_text_input: 'url',
  email_text_input: 'email',
  number_input: 'number',
  datepicker: 'date',
  timepicker: 'time',
};

const isNumeric = (value: unknown): value is string =>
  typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value);

function textField(element: Json, type: string, place: Place): string {
  const value = chosenValues(element, type, place)[0] ?? '';
  const common = {
    name: 'value',
    placeholder: plainString(element.placeholder) || undefined,
    maxlength: Number.isInteger(element.max_length) ? Number(element.max_length) : undefined,
    minlength: Number.isInteger(element.min_length) ? Number(element.min_length) : undefined,
  };
  if (type === 'plain_text_input' && element.multiline === true) {
    // The parser drops one newline right after <textarea>, so lead with one to keep the value's own.
    return inputRoot(
      element,
      type,
      place,
      `<textarea${attrs({ ...common, rows: 4 })}>\n${escapeHtml(value)}</textarea>`,
    );
  }
  const numeric =
    type === 'number_input'
      ? {
          step: element.is_decimal_allowed === true ? 'any' : '1',
          inputmode: element.is_decimal_allowed === true ? 'decimal' : 'numeric',
          min: isNumeric(element.min_value) ? element.min_value : undefined,
          max: isNumeric(element.max_value) ? element.max_value : undefined,
        }
      : {};
  const native = NATIVE_INPUT_TYPES[type] ?? 'text';
  return inputRoot(element, type, place, `<input${attrs({ type: native, ...common, ...numeric, value })}>`);
}

interface Choice {
  value: string;
  label: string;
}

interface ChoiceGroup {
  label?: string;
  choices: Choice[];
}

/** An element's option objects (with a string value), option_groups included. */
function optionObjects(element: Json): Json[] {
  const grouped = list(element.option_groups).flatMap((group) =>
    isRecord(group) ? list(group.options) : [],
  );
  return [...list(element.options), ...grouped].filter(
    (option): option is Json => isRecord(option) && typeof option.value === 'string',
  );
}

function choicesOf(options: unknown): Choice[] {
  return list(options)
    .filter((option): option is Json => isRecord(option) && typeof option.value === 'string')
    .map((option) => ({ value: str(option.value), label: plainString(option.text) }));
}

function staticChoices(element: Json): ChoiceGroup[] {
  if (Array.isArray(element.option_groups)) {
    return element.option_groups
      .filter(isRecord)
      .map((group) => ({ label: plainString(group.label), choices: choicesOf(group.options) }));
  }
  return [{ choices: choicesOf(element.options) }];
}

function optionTags(choices: Choice[], selected: ReadonlySet<string>): string {
  return choices
    .map(
      (choice) =>
        `<option${attrs({ value: choice.value, selected: selected.has(choice.value) })}>${escapeHtml(choice.label)}</option>`,
    )
    .join('');
}

const MULTI_SELECTS = new Set([
  'multi_static_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
]);

function select(element: Json, type: string, place: Place, groups: ChoiceGroup[]): string {
  if (MULTI_SELECTS.has(type)) return picker(element, type, place, groups);
  const selected = new Set(chosenValues(element, type, place));
  const placeholder = plainString(element.placeholder);
  // A single select starts on an empty choice, so "nothing chosen" is something the form can hold.
  const empty = `<option value="">${escapeHtml(placeholder || 'Select an item')}</option>`;
  const body = groups
    .map((group) =>
      group.label === undefined
        ? optionTags(group.choices, selected)
        : `<optgroup${attrs({ label: group.label })}>${optionTags(group.choices, selected)}</optgroup>`,
    )
    .join('');
  const control = `<select${attrs({ class: 'bk-select', name: 'value', 'aria-label': placeholder || undefined })}>${empty}${body}</select>`;
  return inputRoot(element, type, place, control);
}

/**
 * A multi-select as Slack shows one: the choices made as chips in a box that opens a list to tick
 * (bk-picker: a <details> whose <summary> holds bk-chip or bk-placeholder, and bk-picker-list the
 * bk-option checkboxes, grouped under bk-picker-group headings).
 */
function picker(element: Json, type: string, place: Place, groups: ChoiceGroup[]): string {
  const selected = new Set(chosenValues(element, type, place));
  const placeholder = plainString(element.placeholder) || 'Select options';
  const chosen = groups.flatMap((g) => g.choices).filter((c) => selected.has(c.value));
  const summary = chosen.length
    ? chosen.map((c) => `<span class="bk-chip">${escapeHtml(c.label)}</span>`).join('')
    : `<span class="bk-placeholder">${escapeHtml(placeholder)}</span>`;
  const list = groups
    .map(
      (group) =>
        (group.label === undefined ? '' : `<div class="bk-picker-group">${escapeHtml(group.label)}</div>`) +
        group.choices
          .map(
            (c) =>
              `<label class="bk-option"><input${attrs({ type: 'checkbox', name: 'value', value: c.value, checked: selected.has(c.value) })}><span class="bk-option-text">${escapeHtml(c.label)}</span></label>`,
          )
          .join(''),
    )
    .join('');
  const control = `<details class="bk-picker"><summary${attrs({ class: 'bk-picker-summary', 'aria-label': placeholder, 'data-placeholder': placeholder })}>${summary}</summary><div class="bk-picker-list" role="group">${list}</div></details>`;
  return inputRoot(element, type, place, control);
}

/** An overflow menu as a select whose first entry is the ⋯ button; choosing an entry is the action. */
function overflow(element: Json, place: Place): string {
  const options = optionTags(choicesOf(element.options), new Set());
  const control = `<select${attrs({ class: 'bk-select', name: 'value', 'aria-label': 'More actions' })}><option value="">⋯</option>${options}</select>`;
  return inputRoot(element, 'overflow', place, control);
}

function choiceList(element: Json, type: 'radio_buttons' | 'checkboxes', place: Place): string {
  const selected = new Set(chosenValues(element, type, place));
  const inputType = type === 'radio_buttons' ? 'radio' : 'checkbox';
  // Radios group by name across the whole page, and one page shows many messages whose block and
  // action ids may repeat, so the name holds the surface too (and stays the same on every render).
  const name =
    type === 'radio_buttons'
      ? `bk-radio-${place.ctx.surface ?? ''}-${place.blockId}-${str(element.action_id)}`
      : undefined;
  const items = list(element.options)
    .filter((option): option is Json => isRecord(option) && typeof option.value === 'string')
    .map((option) => {
      const value = str(option.value);
      const control = `<input${attrs({ type: inputType, name, value, checked: selected.has(value) })}>`;
      const description =
        option.description === undefined
          ? ''
          : `<span class="bk-option-description">${renderText(option.description, place.ctx)}</span>`;
      return `<label class="bk-option">${control} <span class="bk-option-text">${renderText(option.text, place.ctx)}</span>${description}</label>`;
    })
    .join('');
  return inputRoot(element, type, place, items, {
    class: `bk-element bk-${type} bk-options`,
    role: type === 'radio_buttons' ? 'radiogroup' : 'group',
  });
}

// ---------------------------------------------------------------------------------------------------
// State: what each element holds, read for rendering and written by stateFromForm

/** How Slack's view.state.values carries one element type, and where the element's initial value is. */
interface StateShape {
  key: string;
  initial: string;
  kind: 'string' | 'strings' | 'option' | 'options';
}

const STATE_SHAPES = new Map<string, StateShape>([
  ['plain_text_input', { key: 'value', initial: 'initial_value', kind: 'string' }],
  ['url_text_input', { key: 'value', initial: 'initial_value', kind: 'string' }],
  ['email_text_input', { key: 'value', initial: 'initial_value', kind: 'string' }],
  ['number_input', { key: 'value', initial: 'initial_value', kind: 'string' }],
  ['static_select', { key: 'selected_option', initial: 'initial_option', kind: 'option' }],
  ['radio_buttons', { key: 'selected_option', initial: 'initial_option', kind: 'option' }],
  ['multi_static_select', { key: 'selected_options', initial: 'initial_options', kind: 'options' }],
  ['checkboxes', { key: 'selected_options', initial: 'initial_options', kind: 'options' }],
  ['users_select', { key: 'selected_user', initial: 'initial_user', kind: 'string' }],
  ['multi_users_select', { key: 'selected_users', initial: 'initial_users', kind: 'strings' }],
  ['conversations_select', { key: 'selected_conversation', initial: 'initial_conversation', kind: 'string' }],
  [
    'multi_conversations_select',
    { key: 'selected_conversations', initial: 'initial_conversations', kind: 'strings' },
  ],
  ['channels_select', { key: 'selected_channel', initial: 'initial_channel', kind: 'string' }],
  ['multi_channels_select', { key: 'selected_channels', initial: 'initial_channels', kind: 'strings' }],
  ['datepicker', { key: 'selected_date', initial: 'initial_date', kind: 'string' }],
  ['timepicker', { key: 'selected_time', initial: 'initial_time', kind: 'string' }],
]);

function valuesOf(raw: unknown, kind: StateShape['kind']): string[] {
  switch (kind) {
    case 'string':
      return typeof raw === 'string' && raw !== '' ? [raw] : [];
    case 'strings':
      return list(raw).filter((value): value is string => typeof value === 'string');
    case 'option':
      return isRecord(raw) && typeof raw.value === 'string' ? [raw.value] : [];
    case 'options':
      return list(raw).flatMap((option) => valuesOf(option, 'option'));
  }
}

/** What an element shows as chosen: ctx.state's entry for it when there is one, else its initial_*. */
function chosenValues(element: Json, type: string, place: Place): string[] {
  const shape = STATE_SHAPES.get(type);
  if (!shape) return [];
  const block = own(place.ctx.state, place.blockId);
  const saved = isRecord(block) ? own(block, str(element.action_id)) : undefined;
  if (isRecord(saved) && (saved.type === undefined || saved.type === type)) {
    return valuesOf(saved[shape.key], shape.kind);
  }
  return valuesOf(element[shape.initial], shape.kind);
}

/** Formats the native date and time inputs produce, which apps parse as Slack promises them. */
const STRING_FORMATS: Readonly<Record<string, RegExp>> = {
  datepicker: /^\d{4}-\d{2}-\d{2}$/,
  timepicker: /^\d{2}:\d{2}$/,
};

/** Slack's view.state.values from what the page's form holds, option objects taken from the blocks. */
export function stateFromForm(blocks: unknown, inputs: readonly FormInput[]): ViewStateValues {
  const elements = elementsByBlockAndAction(blocks);
  // Maps, then Object.fromEntries: ids come from the page and `__proto__` must stay a plain key.
  const state = new Map<string, Map<string, unknown>>();
  for (const input of inputs) {
    const element = elements.get(input.blockId)?.get(input.actionId);
    const type = str(element?.type);
    const shape = STATE_SHAPES.get(type);
    if (!element || !shape) continue;
    const values = list(input.values).filter((value): value is string => typeof value === 'string');
    const entry = { type, [shape.key]: stateValue(element, type, shape, values) };
    const byAction = state.get(input.blockId) ?? new Map<string, unknown>();
    state.set(input.blockId, byAction.set(input.actionId, entry));
  }
  return Object.fromEntries([...state].map(([blockId, byAction]) => [blockId, Object.fromEntries(byAction)]));
}

/**
 * What a block_actions `actions[]` entry carries for this element besides its ids: the chosen value
 * in the state's shape, or for an overflow menu the option picked (overflow holds no state).
 */
export function actionFields(element: Json, values: readonly string[]): Record<string, unknown> {
  const type = str(element.type);
  if (type === 'overflow') {
    const option = optionObjects(element).find((o) => o.value === values[0]);
    return option ? { selected_option: option } : {};
  }
  const shape = STATE_SHAPES.get(type);
  return shape ? { [shape.key]: stateValue(element, type, shape, [...values]) } : {};
}

/** Whether Slack keeps this element type in view.state (what a required input can be filled with). */
export function holdsState(type: string): boolean {
  return STATE_SHAPES.has(type);
}

function stateValue(element: Json, type: string, shape: StateShape, values: string[]): unknown {
  const unique = [...new Set(values)];
  switch (shape.kind) {
    case 'string': {
      // An empty text input is `value: null`, as Slack sends it; likewise an unchosen select.
      const value = unique[0];
      const format = STRING_FORMATS[type];
      return value && (!format || format.test(value)) ? value : null;
    }
    case 'strings':
      return unique.filter((value) => value !== '');
    case 'option': {
      const options = optionObjects(element);
      return unique.map((value) => options.find((option) => option.value === value)).find(Boolean) ?? null;
    }
    case 'options': {
      // A page cannot invent options: values the element does not offer are dropped.
      const options = optionObjects(element);
      return unique.flatMap((value) => options.find((option) => option.value === value) ?? []);
    }
  }
}

/** Every element of `blocks` by block_id and action_id (blocks without a block_id hold no state). */
function elementsByBlockAndAction(blocks: unknown): Map<string, Map<string, Json>> {
  const found = new Map<string, Map<string, Json>>();
  for (const { blockId, element } of interactiveElements(blocks)) {
    if (blockId === '') continue;
    const byAction = found.get(blockId) ?? new Map<string, Json>();
    if (!byAction.has(String(element.action_id))) byAction.set(String(element.action_id), element);
    found.set(blockId, byAction);
  }
  return found;
}
