import { describe, expect, test } from '@jest/globals';
import {
  type FormInput,
  type RenderContext,
  renderBlocks,
  renderMrkdwn,
  renderText,
  stateFromForm,
} from '../../sandbox/workspace/block-kit.js';
import { sectionsOf } from '../../src/blocks/elements.js';

const people = new Map([
  ['U_ALICE', 'alice'],
  ['U_BOB', 'bob'],
]);
const rooms = new Map([
  ['C_GENERAL', 'general'],
  ['C_OPS', 'ops'],
]);
const groups = new Map([['S_APPROVERS', 'approvers']]);

const ctx: RenderContext = {
  userName: (id) => people.get(id),
  channelName: (id) => rooms.get(id),
  userGroupHandle: (id) => groups.get(id),
  users: [...people].map(([id, name]) => ({ id, name })),
  channels: [...rooms].map(([id, name]) => ({ id, name })),
};

const plain = (text: string) => ({ type: 'plain_text', text });
const option = (value: string, text = value.toUpperCase()) => ({ text: plain(text), value });

/** The value of the first `name="…"` attribute in html, entities decoded as a browser would. */
function attr(html: string, name: string): string | undefined {
  const raw = new RegExp(`\\s${name}="([^"]*)"`).exec(html)?.[1];
  return raw?.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

const section = (accessory: unknown) => [{ type: 'section', block_id: 'b1', text: plain('hi'), accessory }];
const input = (element: unknown, extra: Record<string, unknown> = {}) => [
  { type: 'input', block_id: 'in', label: plain('Label'), element, ...extra },
];

describe('escaping', () => {
  test('a <script> in mrkdwn, plain text, options and button values is inert text', () => {
    expect(renderMrkdwn('&lt;script&gt;alert(1)&lt;/script&gt;', ctx)).toBe(
      '&#60;script&#62;alert(1)&#60;/script&#62;',
    );
    expect(renderText(plain('<script>x</script>'), ctx)).toBe('&#60;script&#62;x&#60;/script&#62;');
    const select = renderBlocks(
      section({ type: 'static_select', action_id: 'a', options: [option('v', '<script>bad</script>')] }),
      ctx,
    );
    expect(select).not.toContain('<script>');
    expect(select).toContain('&#60;script&#62;bad');
    const button = renderBlocks(
      section({ type: 'button', action_id: 'a', text: plain('Go'), value: '"><script>x</script>' }),
      ctx,
    );
    expect(button).not.toContain('<script>');
    expect(attr(button, 'data-value')).toBe('"><script>x</script>');
  });

  test('raw angle brackets that are not a link or mention never become markup', () => {
    const html = renderMrkdwn('<script>alert(1)</script>', ctx);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<a');
  });

  test('javascript: and data: URLs are shown as text, never as href or src', () => {
    const link = renderMrkdwn('<javascript:alert(1)|click me>', ctx);
    expect(link).toBe('click me');
    const image = renderBlocks([{ type: 'image', image_url: 'javascript:alert(1)', alt_text: 'a cat' }], ctx);
    expect(image).not.toContain('<img');
    expect(image).toContain('<span class="bk-image-alt">a cat</span>');
    const dataImage = renderBlocks(
      [{ type: 'image', image_url: 'data:image/png;base64,AA', alt_text: 'x' }],
      ctx,
    );
    expect(dataImage).not.toContain('src=');
    const button = renderBlocks(
      section({ type: 'button', action_id: 'a', text: plain('Open'), url: 'javascript:alert(1)' }),
      ctx,
    );
    expect(button).not.toContain('href');
    expect(button).toContain('<button type="button"');
  });

  test('no inline event handlers or styles come from input', () => {
    const html = renderBlocks(
      [
        {
          type: 'section',
          block_id: 'x" onclick="evil()',
          text: { type: 'mrkdwn', text: '<https://e.com" onmouseover="x|y>' },
        },
        { type: 'image', image_url: 'https://e.com/a.png" onerror="evil()', alt_text: '" style="color:red' },
      ],
      ctx,
    );
    // Attribute values are quoted and escaped, so only what is outside quotes could be an attribute.
    const outsideQuotes = html.replace(/="[^"]*"/g, '=""');
    expect(outsideQuotes).not.toMatch(/\son\w+=/);
    expect(outsideQuotes).not.toMatch(/\sstyle=/);
    expect(attr(html, 'alt')).toBe('" style="color:red');
  });
});

describe('mrkdwn', () => {
  test('a bare URL becomes a link, without the sentence’s full stop; a javascript: one stays text', () => {
    const html = renderMrkdwn(
      'Make one at https://example.test/settings/tokens. Or javascript:alert(1)',
      ctx,
    );
    expect(attr(html, 'href')).toBe('https://example.test/settings/tokens');
    expect(html).toContain('</a>. Or javascript:alert(1)');
  });

  test('bold, italic, strike and inline code', () => {
    expect(renderMrkdwn('*bold* _italic_ ~gone~ `code`', ctx)).toBe(
      '<strong>bold</strong> <em>italic</em> <del>gone</del> <code class="bk-code">code</code>',
    );
  });

  test('markers inside code spans and words stay literal', () => {
    expect(renderMrkdwn('`*not bold*` snake_case_name', ctx)).toBe(
      '<code class="bk-code">*not bold*</code> snake_case_name',
    );
  });

  test('Slack-escaped &, < and > show as the characters', () => {
    expect(renderMrkdwn('a &amp; b &lt; c &gt; d', ctx)).toBe('a &#38; b &#60; c &#62; d');
  });

  test('newlines become <br>, ``` blocks become <pre>, > lines become a blockquote', () => {
    expect(renderMrkdwn('one\ntwo', ctx)).toBe('one<br>two');
    expect(renderMrkdwn('before\n```\nx = *y*\n```\nafter', ctx)).toBe(
      'before<pre class="bk-pre">x = *y*\n</pre>after',
    );
    expect(renderMrkdwn('> quoted\n&gt; more\nplain', ctx)).toBe(
      '<blockquote class="bk-quote">quoted<br>more</blockquote>plain',
    );
  });

  test('links with and without a label, mailto too; formatting can wrap a link', () => {
    expect(renderMrkdwn('<https://example.com/a?b=1&amp;c=2|the docs>', ctx)).toBe(
      '<a class="bk-link" href="https://example.com/a?b=1&#38;c=2" target="_blank" rel="noopener noreferrer">the docs</a>',
    );
    expect(renderMrkdwn('<https://example.com>', ctx)).toContain('>https://example.com</a>');
    expect(renderMrkdwn('<mailto:a@example.com|mail>', ctx)).toContain('href="mailto:a@example.com"');
    expect(renderMrkdwn('*<https://example.com|x>*', ctx)).toMatch(/^<strong><a [^>]+>x<\/a><\/strong>$/);
  });

  test('user, channel and group mentions use names from the context, else the id', () => {
    expect(renderMrkdwn('<@U_ALICE> <@U_NOBODY>', ctx)).toBe(
      '<span class="bk-mention">@alice</span> <span class="bk-mention">@U_NOBODY</span>',
    );
    expect(renderMrkdwn('<#C_OPS> <#C_OTHER|random>', ctx)).toBe(
      '<span class="bk-mention">#ops</span> <span class="bk-mention">#random</span>',
    );
    expect(renderMrkdwn('<!subteam^S_APPROVERS> <!subteam^S_X|@team>', ctx)).toBe(
      '<span class="bk-mention">@approvers</span> <span class="bk-mention">@team</span>',
    );
  });

  test('@here, @channel, @everyone and dates with their fallback', () => {
    expect(renderMrkdwn('<!here> <!channel> <!everyone>', ctx)).toBe(
      ['here', 'channel', 'everyone']
        .map((r) => `<span class="bk-mention bk-broadcast">@${r}</span>`)
        .join(' '),
    );
    expect(renderMrkdwn('<!date^1700000000^{date_short}|Nov 14>', ctx)).toBe('Nov 14');
  });

  test('a few common emoji shortcodes are mapped; the rest stay as written', () => {
    expect(renderMrkdwn(':white_check_mark: :warning: :unknown_thing:', ctx)).toBe('✅ ⚠️ :unknown_thing:');
  });

  test('plain text maps shortcodes only with emoji: true, and is otherwise escaped as is', () => {
    expect(renderText({ type: 'plain_text', text: ':wave: *hi*', emoji: true }, ctx)).toBe('👋 *hi*');
    expect(renderText({ type: 'plain_text', text: ':wave: &amp;' }, ctx)).toBe(':wave: &#38;amp;');
    expect(renderText({ type: 'mrkdwn', text: '*hi*' }, ctx)).toBe('<strong>hi</strong>');
  });
});

describe('blocks', () => {
  test('each block is a bk-block div carrying its block_id', () => {
    expect(renderBlocks([{ type: 'divider', block_id: 'd1' }, { type: 'divider' }], ctx)).toBe(
      '<div class="bk-block bk-divider" data-block-id="d1"><hr></div>' +
        '<div class="bk-block bk-divider" data-block-id=""><hr></div>',
    );
  });

  test('section: text, fields and an accessory on the right', () => {
    const html = renderBlocks(
      [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*Title*' },
          fields: [plain('one'), { type: 'mrkdwn', text: '_two_' }],
          accessory: { type: 'button', action_id: 'go', text: plain('Go') },
        },
      ],
      ctx,
    );
    expect(html).toContain('<div class="bk-section-text"><strong>Title</strong></div>');
    expect(html).toContain(
      '<div class="bk-fields"><div class="bk-field">one</div><div class="bk-field"><em>two</em></div></div>',
    );
    expect(html).toMatch(/<div class="bk-accessory"><button [^>]*>Go<\/button><\/div>/);
  });

  test('header is a heading', () => {
    expect(
      renderBlocks([{ type: 'header', text: { type: 'plain_text', text: 'Hi :wave:', emoji: true } }], ctx),
    ).toBe('<div class="bk-block bk-header" data-block-id=""><h2 class="bk-header-text">Hi 👋</h2></div>');
  });

  test('context holds text and small images', () => {
    const html = renderBlocks(
      [
        {
          type: 'context',
          elements: [
            { type: 'image', image_url: 'https://e.com/i.png', alt_text: 'icon' },
            { type: 'mrkdwn', text: 'by <@U_BOB>' },
          ],
        },
      ],
      ctx,
    );
    expect(html).toContain('<img class="bk-img" src="https://e.com/i.png" alt="icon"');
    expect(html).toContain('<span class="bk-context-item">by <span class="bk-mention">@bob</span></span>');
  });

  test('image: a title and the picture with its alt text', () => {
    const html = renderBlocks(
      [{ type: 'image', title: plain('A chart'), image_url: 'https://e.com/c.png', alt_text: 'chart' }],
      ctx,
    );
    expect(html).toContain('<div class="bk-image-title">A chart</div>');
    expect(html).toContain('src="https://e.com/c.png" alt="chart"');
  });

  test('actions: its elements in a row', () => {
    const html = renderBlocks(
      [
        {
          type: 'actions',
          block_id: 'act',
          elements: [
            { type: 'button', action_id: 'a', text: plain('A') },
            { type: 'button', action_id: 'b', text: plain('B') },
          ],
        },
      ],
      ctx,
    );
    expect(html).toMatch(
      /^<div class="bk-block bk-actions" data-block-id="act"><button[^>]*>A<\/button><button[^>]*>B<\/button><\/div>$/,
    );
  });

  test('input: label, (optional), hint and the element', () => {
    const html = renderBlocks(
      input({ type: 'plain_text_input', action_id: 'name' }, { optional: true, hint: plain('Your name') }),
      ctx,
    );
    expect(html).toContain('<div class="bk-label">Label <span class="bk-optional">(optional)</span></div>');
    expect(html).toContain('<div class="bk-hint">Your name</div>');
    expect(html).toContain('<input type="text" name="value" value="">');
  });

  test('input: the inline error for its block_id, escaped, as an alert', () => {
    const html = renderBlocks(input({ type: 'plain_text_input', action_id: 'name' }), {
      ...ctx,
      errors: { in: 'Too <long>' },
    });
    expect(html).toContain('<div class="bk-error" role="alert">Too &#60;long&#62;</div>');
    expect(html).toContain('class="bk-block bk-input bk-has-error"');
    expect(renderBlocks(input({ type: 'plain_text_input' }), { ...ctx, errors: {} })).not.toContain(
      'bk-error',
    );
  });

  test('an error keyed by an inherited property name is no error', () => {
    const blocks = [
      { type: 'input', block_id: 'constructor', label: plain('L'), element: { type: 'plain_text_input' } },
    ];
    expect(renderBlocks(blocks, { ...ctx, errors: {} })).not.toContain('bk-error');
  });

  test('rich_text: sections with styles, links, mentions and emoji; lists; preformatted; quotes', () => {
    const html = renderBlocks(
      [
        {
          type: 'rich_text',
          elements: [
            {
              type: 'rich_text_section',
              elements: [
                { type: 'text', text: 'Hi ', style: { bold: true } },
                { type: 'user', user_id: 'U_ALICE' },
                { type: 'text', text: ' see ' },
                { type: 'link', url: 'https://e.com', text: 'this' },
                { type: 'text', text: ' in ' },
                { type: 'channel', channel_id: 'C_OPS' },
                { type: 'emoji', name: 'wave', unicode: '1f44b' },
                { type: 'link', url: 'javascript:x', text: 'bad' },
              ],
            },
            {
              type: 'rich_text_list',
              style: 'ordered',
              indent: 1,
              elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'first' }] }],
            },
            { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'a\nb' }] },
            { type: 'rich_text_quote', elements: [{ type: 'text', text: 'wise', style: { italic: true } }] },
          ],
        },
      ],
      ctx,
    );
    expect(html).toContain(
      '<div class="bk-rt-section"><strong>Hi </strong><span class="bk-mention">@alice</span> see ' +
        '<a class="bk-link" href="https://e.com" target="_blank" rel="noopener noreferrer">this</a> in ' +
        '<span class="bk-mention">#ops</span>👋bad</div>',
    );
    expect(html).toContain('<ol class="bk-rt-list bk-rt-indent-1"><li>first</li></ol>');
    expect(html).toContain('<pre class="bk-pre">a\nb</pre>');
    expect(html).toContain('<blockquote class="bk-quote"><em>wise</em></blockquote>');
  });

  test('markdown block: standard links and **bold**, with < and > literal', () => {
    const html = renderBlocks([{ type: 'markdown', text: '**Note** see [docs](https://e.com) a<b' }], ctx);
    expect(html).toBe(
      '<div class="bk-block bk-markdown" data-block-id=""><strong>Note</strong> see ' +
        '<a class="bk-link" href="https://e.com" target="_blank" rel="noopener noreferrer">docs</a> a&#60;b</div>',
    );
  });

  test('unknown block and element types are a muted placeholder', () => {
    expect(renderBlocks([{ type: 'video', title: plain('x') }], ctx)).toBe(
      '<div class="bk-unknown">Unsupported block: video</div>',
    );
    expect(renderBlocks([{ type: 'actions', elements: [{ type: 'workflow_button' }] }], ctx)).toContain(
      '<div class="bk-unknown">Unsupported element: workflow_button</div>',
    );
  });

  test('malformed input never throws', () => {
    const junk: unknown[] = [
      null,
      1,
      'x',
      [],
      {},
      { type: 1 },
      { type: '__proto__' },
      { type: 'constructor' },
    ];
    const shapes = (value: unknown) => [
      { type: 'section', text: value, fields: value, accessory: value },
      { type: 'actions', elements: [value, { type: 'static_select', options: value, option_groups: value }] },
      { type: 'input', label: value, element: value, hint: value },
      { type: 'input', element: { type: 'checkboxes', options: [value], initial_options: value } },
      { type: 'context', elements: value },
      { type: 'rich_text', elements: [value, { type: 'rich_text_list', elements: [value] }] },
      { type: 'image', image_url: value, alt_text: value, title: value },
      { type: 'markdown', text: value },
      { type: 'header', text: value },
    ];
    for (const value of junk) {
      expect(() =>
        renderBlocks(shapes(value), { ...ctx, state: { x: value as Record<string, unknown> } }),
      ).not.toThrow();
      expect(() => renderText(value, ctx)).not.toThrow();
      expect(() =>
        stateFromForm(shapes(value), [{ blockId: 'x', actionId: 'y', type: 'z', values: [] }]),
      ).not.toThrow();
    }
    expect(renderBlocks('not blocks', ctx)).toBe('');
  });
});

describe('data-attribute contract', () => {
  test('a button: type=button, classes by style, the three ids and its value', () => {
    const html = renderBlocks(
      [
        {
          type: 'actions',
          block_id: 'b',
          elements: [{ type: 'button', action_id: 'ok', text: plain('OK'), value: 'v1', style: 'primary' }],
        },
      ],
      ctx,
    );
    expect(html).toContain(
      '<button type="button" class="bk-button bk-primary" data-action-id="ok" data-block-id="b" data-type="button" data-value="v1">OK</button>',
    );
    const danger = renderBlocks(
      section({ type: 'button', action_id: 'x', text: plain('No'), style: 'danger' }),
      ctx,
    );
    expect(danger).toContain('class="bk-button bk-danger"');
    expect(danger).not.toContain('data-value');
  });

  test('a url button is a link that opens in a new tab and still carries the action', () => {
    const html = renderBlocks(
      section({ type: 'button', action_id: 'open', text: plain('Open'), url: 'https://e.com/x', value: 'v' }),
      ctx,
    );
    expect(html).toContain(
      '<a class="bk-button bk-link-button" href="https://e.com/x" target="_blank" rel="noopener noreferrer" data-action-id="open" data-block-id="b1" data-type="button" data-value="v">Open</a>',
    );
  });

  test('confirm becomes data-confirm holding plain-string JSON, and whether it is destructive', () => {
    const html = renderBlocks(
      section({
        type: 'button',
        action_id: 'rm',
        text: plain('Remove'),
        confirm: {
          title: plain('Sure?'),
          text: { type: 'mrkdwn', text: 'Remove *"x"* &amp; <y>' },
          confirm: plain('Remove'),
          deny: plain('Keep'),
          style: 'danger',
        },
      }),
      ctx,
    );
    expect(JSON.parse(attr(html, 'data-confirm') ?? '')).toEqual({
      title: 'Sure?',
      text: 'Remove *"x"* & <y>',
      confirm: 'Remove',
      deny: 'Keep',
      danger: true,
    });
  });

  test('elements outside input blocks dispatch; inside input blocks only with dispatch_action', () => {
    const select = { type: 'static_select', action_id: 'pick', options: [option('a')] };
    const outside = renderBlocks(section(select), ctx);
    expect(outside).toMatch(
      /^<div class="bk-block bk-section" [^>]*>.*<div class="bk-element bk-static_select" data-action-id="pick" data-block-id="b1" data-type="static_select" data-input="true" data-dispatch="true">/,
    );
    const inside = renderBlocks(input(select), ctx);
    expect(inside).toContain('data-input="true"');
    expect(inside).not.toContain('data-dispatch');
    expect(renderBlocks(input(select, { dispatch_action: true }), ctx)).toContain('data-dispatch="true"');
  });

  test('text-like elements hold one native control named value', () => {
    const render = (element: Record<string, unknown>) =>
      renderBlocks(input({ action_id: 'a', ...element }), ctx);
    expect(render({ type: 'plain_text_input', placeholder: plain('Say'), max_length: 20 })).toContain(
      '<input type="text" name="value" placeholder="Say" maxlength="20" value="">',
    );
    expect(render({ type: 'plain_text_input', multiline: true, initial_value: 'hi' })).toContain(
      '<textarea name="value" rows="4">\nhi</textarea>',
    );
    expect(render({ type: 'url_text_input' })).toContain('<input type="url" name="value"');
    expect(render({ type: 'email_text_input' })).toContain('<input type="email" name="value"');
    expect(
      render({ type: 'number_input', is_decimal_allowed: false, min_value: '1', max_value: '9' }),
    ).toContain('<input type="number" name="value" step="1" inputmode="numeric" min="1" max="9" value="">');
    expect(render({ type: 'number_input', is_decimal_allowed: true })).toContain('step="any"');
    expect(render({ type: 'datepicker', initial_date: '2024-05-01' })).toContain(
      '<input type="date" name="value" value="2024-05-01">',
    );
    expect(render({ type: 'timepicker', initial_time: '09:30' })).toContain(
      '<input type="time" name="value" value="09:30">',
    );
  });

  test('selects: options by Slack value, option groups; multi types as a picker of checkboxes with chips', () => {
    const html = renderBlocks(
      input({
        type: 'multi_static_select',
        action_id: 'm',
        option_groups: [
          { label: plain('G1'), options: [option('a'), option('b')] },
          { label: plain('G2'), options: [option('c')] },
        ],
        initial_options: [option('b')],
      }),
      ctx,
    );
    expect(html).toContain(
      '<details class="bk-picker"><summary class="bk-picker-summary" aria-label="Select options" data-placeholder="Select options"><span class="bk-chip">B</span></summary>' +
        '<div class="bk-picker-list" role="group"><div class="bk-picker-group">G1</div>' +
        '<label class="bk-option"><input type="checkbox" name="value" value="a"><span class="bk-option-text">A</span></label>' +
        '<label class="bk-option"><input type="checkbox" name="value" value="b" checked><span class="bk-option-text">B</span></label>' +
        '<div class="bk-picker-group">G2</div>' +
        '<label class="bk-option"><input type="checkbox" name="value" value="c"><span class="bk-option-text">C</span></label></div></details>',
    );
    const single = renderBlocks(
      input({ type: 'static_select', action_id: 's', options: [option('a')] }),
      ctx,
    );
    expect(single).toContain('<option value="">Select an item</option><option value="a">A</option>');
  });

  test('users and conversation selects offer the workspace people and channels by id', () => {
    const users = renderBlocks(
      input({ type: 'multi_users_select', action_id: 'u', initial_users: ['U_BOB'] }),
      ctx,
    );
    expect(users).toContain('data-type="multi_users_select"');
    expect(users).toContain('<span class="bk-chip">bob</span>');
    expect(users).toContain('value="U_ALICE"><span class="bk-option-text">alice</span>');
    expect(users).toContain('value="U_BOB" checked><span class="bk-option-text">bob</span>');
    for (const type of ['conversations_select', 'channels_select']) {
      expect(renderBlocks(input({ type, action_id: 'c' }), ctx)).toContain(
        '<option value="C_OPS">#ops</option>',
      );
    }
    for (const type of ['multi_conversations_select', 'multi_channels_select']) {
      expect(renderBlocks(input({ type, action_id: 'c' }), ctx)).toContain(
        'value="C_OPS"><span class="bk-option-text">#ops</span>',
      );
    }
  });

  test('overflow is a menu of its options that dispatches', () => {
    const html = renderBlocks(
      section({ type: 'overflow', action_id: 'more', options: [option('edit', 'Edit')] }),
      ctx,
    );
    expect(html).toContain('data-type="overflow" data-input="true" data-dispatch="true"');
    expect(html).toContain('<option value="">⋯</option><option value="edit">Edit</option>');
  });

  test('radio buttons share a name of their surface and element, the same on every render; checkboxes show descriptions', () => {
    const radios = {
      type: 'radio_buttons',
      action_id: 'r',
      options: [option('a'), option('b')],
      initial_option: option('b'),
    };
    const html = renderBlocks(input(radios), { ...ctx, surface: 'm1' });
    const names = [...html.matchAll(/type="radio" name="([^"]+)"/g)].map((m) => m[1]);
    expect(names).toHaveLength(2);
    expect(names[0]).toBe(names[1]);
    expect(html).toContain('value="b" checked>');
    expect(attr(renderBlocks(input(radios), { ...ctx, surface: 'm1' }), 'name')).toBe(names[0]);
    expect(attr(renderBlocks(input(radios), { ...ctx, surface: 'm2' }), 'name')).not.toBe(names[0]);
    const boxes = renderBlocks(
      input({
        type: 'checkboxes',
        action_id: 'c',
        options: [{ text: { type: 'mrkdwn', text: '*Yes*' }, value: 'y', description: plain('Really') }],
      }),
      ctx,
    );
    expect(boxes).toContain(
      '<label class="bk-option"><input type="checkbox" value="y"> <span class="bk-option-text"><strong>Yes</strong></span>' +
        '<span class="bk-option-description">Really</span></label>',
    );
  });
});

describe('initial values', () => {
  const state = {
    in: {
      text: { type: 'plain_text_input', value: 'from state' },
      pick: { type: 'static_select', selected_option: option('b') },
    },
  };

  test('state for the block and action wins over the element initial value', () => {
    const text = { type: 'plain_text_input', action_id: 'text', initial_value: 'initial' };
    expect(renderBlocks(input(text), { ...ctx, state })).toContain('value="from state"');
    expect(renderBlocks(input(text), ctx)).toContain('value="initial"');
    const select = {
      type: 'static_select',
      action_id: 'pick',
      options: [option('a'), option('b')],
      initial_option: option('a'),
    };
    expect(renderBlocks(input(select), { ...ctx, state })).toContain('<option value="b" selected>');
    expect(renderBlocks(input(select), ctx)).toContain('<option value="a" selected>');
  });

  test('an emptied state entry stays empty rather than falling back to the initial value', () => {
    const boxes = {
      type: 'checkboxes',
      action_id: 'c',
      options: [option('a')],
      initial_options: [option('a')],
    };
    const emptied = { in: { c: { type: 'checkboxes', selected_options: [] } } };
    expect(renderBlocks(input(boxes), { ...ctx, state: emptied })).not.toContain('checked');
    expect(renderBlocks(input(boxes), ctx)).toContain('checked');
  });
});

describe('stateFromForm', () => {
  const blocks = [
    {
      type: 'input',
      block_id: 'title',
      label: plain('Title'),
      element: { type: 'plain_text_input', action_id: 't' },
    },
    {
      type: 'input',
      block_id: 'link',
      label: plain('URL'),
      element: { type: 'url_text_input', action_id: 'u' },
    },
    {
      type: 'input',
      block_id: 'mail',
      label: plain('Email'),
      element: { type: 'email_text_input', action_id: 'e' },
    },
    {
      type: 'input',
      block_id: 'num',
      label: plain('N'),
      element: { type: 'number_input', action_id: 'n', is_decimal_allowed: false },
    },
    {
      type: 'input',
      block_id: 'one',
      label: plain('One'),
      element: {
        type: 'static_select',
        action_id: 's',
        option_groups: [{ label: plain('G'), options: [option('a'), option('b')] }],
      },
    },
    {
      type: 'input',
      block_id: 'many',
      label: plain('Many'),
      element: {
        type: 'multi_static_select',
        action_id: 'm',
        options: [option('a'), option('b'), option('c')],
      },
    },
    {
      type: 'input',
      block_id: 'radio',
      label: plain('R'),
      element: {
        type: 'radio_buttons',
        action_id: 'r',
        options: [{ ...option('x'), description: plain('the x') }],
      },
    },
    {
      type: 'input',
      block_id: 'boxes',
      label: plain('C'),
      element: { type: 'checkboxes', action_id: 'c', options: [option('p'), option('q')] },
    },
    {
      type: 'section',
      block_id: 'acc',
      text: plain('who'),
      accessory: { type: 'users_select', action_id: 'who' },
    },
    {
      type: 'actions',
      block_id: 'acts',
      elements: [
        { type: 'multi_users_select', action_id: 'us' },
        { type: 'conversations_select', action_id: 'conv' },
        { type: 'multi_conversations_select', action_id: 'convs' },
        { type: 'channels_select', action_id: 'ch' },
        { type: 'multi_channels_select', action_id: 'chs' },
        { type: 'datepicker', action_id: 'd' },
        { type: 'timepicker', action_id: 'tm' },
        { type: 'overflow', action_id: 'o', options: [option('edit')] },
        { type: 'button', action_id: 'btn', text: plain('B') },
      ],
    },
  ];
  const form = (blockId: string, actionId: string, values: string[]): FormInput => ({
    blockId,
    actionId,
    type: 'ignored',
    values,
  });

  test('text, url, email and number inputs carry value, null when empty', () => {
    expect(
      stateFromForm(blocks, [
        form('title', 't', ['Hello']),
        form('link', 'u', ['']),
        form('mail', 'e', ['a@example.com']),
        form('num', 'n', ['42']),
      ]),
    ).toEqual({
      title: { t: { type: 'plain_text_input', value: 'Hello' } },
      link: { u: { type: 'url_text_input', value: null } },
      mail: { e: { type: 'email_text_input', value: 'a@example.com' } },
      num: { n: { type: 'number_input', value: '42' } },
    });
    expect(stateFromForm(blocks, [form('num', 'n', [])])).toEqual({
      num: { n: { type: 'number_input', value: null } },
    });
  });

  test('selects, radios and checkboxes carry the full option objects from the blocks, option_groups too', () => {
    expect(
      stateFromForm(blocks, [
        form('one', 's', ['b']),
        form('many', 'm', ['c', 'a']),
        form('radio', 'r', ['x']),
        form('boxes', 'c', ['q']),
      ]),
    ).toEqual({
      one: { s: { type: 'static_select', selected_option: option('b') } },
      many: { m: { type: 'multi_static_select', selected_options: [option('c'), option('a')] } },
      radio: {
        r: { type: 'radio_buttons', selected_option: { ...option('x'), description: plain('the x') } },
      },
      boxes: { c: { type: 'checkboxes', selected_options: [option('q')] } },
    });
  });

  test('values the element does not offer are dropped', () => {
    expect(
      stateFromForm(blocks, [
        form('one', 's', ['invented']),
        form('many', 'm', ['a', 'invented']),
        form('boxes', 'c', []),
      ]),
    ).toEqual({
      one: { s: { type: 'static_select', selected_option: null } },
      many: { m: { type: 'multi_static_select', selected_options: [option('a')] } },
      boxes: { c: { type: 'checkboxes', selected_options: [] } },
    });
  });

  test('users, conversations, channels, dates and times carry ids and strings', () => {
    expect(
      stateFromForm(blocks, [
        form('acc', 'who', ['U_ALICE']),
        form('acts', 'us', ['U_ALICE', 'U_BOB']),
        form('acts', 'conv', ['C_OPS']),
        form('acts', 'convs', []),
        form('acts', 'ch', []),
        form('acts', 'chs', ['C_OPS']),
        form('acts', 'd', ['2024-05-01']),
        form('acts', 'tm', ['not a time']),
      ]),
    ).toEqual({
      acc: { who: { type: 'users_select', selected_user: 'U_ALICE' } },
      acts: {
        us: { type: 'multi_users_select', selected_users: ['U_ALICE', 'U_BOB'] },
        conv: { type: 'conversations_select', selected_conversation: 'C_OPS' },
        convs: { type: 'multi_conversations_select', selected_conversations: [] },
        ch: { type: 'channels_select', selected_channel: null },
        chs: { type: 'multi_channels_select', selected_channels: ['C_OPS'] },
        d: { type: 'datepicker', selected_date: '2024-05-01' },
        tm: { type: 'timepicker', selected_time: null },
      },
    });
  });

  test('overflow, buttons and inputs not in the blocks are dropped', () => {
    expect(
      stateFromForm(blocks, [
        form('acts', 'o', ['edit']),
        form('acts', 'btn', ['x']),
        form('nowhere', 't', ['x']),
        form('title', 'nothing', ['x']),
      ]),
    ).toEqual({});
  });

  test('block ids such as __proto__ stay plain keys', () => {
    const tricky = [
      { type: 'input', block_id: '__proto__', element: { type: 'plain_text_input', action_id: 'polluted' } },
    ];
    const state = stateFromForm(tricky, [form('__proto__', 'polluted', ['yes'])]);
    expect(Object.hasOwn(state, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('sectionsOf (long answers)', () => {
  test('no section passes 3,000 characters, even with a line break right at the limit, and nothing is lost', () => {
    for (const text of [
      `${'a'.repeat(3000)}\n${'b'.repeat(10)}`,
      `${'a'.repeat(2999)}\n${'b'.repeat(4000)}`,
      `${'x'.repeat(2997)}&amp;${'y'.repeat(3000)}`,
      'line &lt; one\n'.repeat(2000),
    ]) {
      const sections = sectionsOf(text);
      expect(sections.every((s) => (s.text?.text.length ?? 0) <= 3000)).toBe(true);
      expect(sections.map((s) => s.text?.text ?? '').join('')).toBe(text);
      // An entity is never cut in two.
      expect(sections.every((s) => !/&[a-z]{0,3}$/.test(s.text?.text ?? ''))).toBe(true);
    }
  });
});
