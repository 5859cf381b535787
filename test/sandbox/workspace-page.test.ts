import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Screen } from '../../sandbox/workspace/render.js';
import { BasicsBlocks } from '../../src/blocks/agents.js';
import { MODELS } from '../../src/store/index.js';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * The workspace page's server, over HTTP as the page's script uses it: who sees what, and what it
 * refuses. The browser run itself is test/e2e/workspace.test.ts.
 */

interface Person {
  cookie: string;
  act(body: unknown): Promise<{ status: number; json: { ok: boolean; error?: string; notice?: string } }>;
  /** Waits for a screen of the live stream that `accept` takes. */
  screen(query: string, accept: (s: Screen) => boolean): Promise<Screen>;
}

describe('the sandbox workspace page', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await startHarness();
    base = h.runtime.workspaceUrl ?? '';
  });
  afterAll(() => h.close());

  async function post(body: string, headers: Record<string, string>) {
    const response = await fetch(`${base}client/act`, { method: 'POST', headers, body });
    return { status: response.status, json: (await response.json()) as { ok: boolean; error?: string } };
  }

  async function person(userId: string): Promise<Person> {
    const switched = await fetch(`${base}client/act`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'switch', user: userId }),
    });
    const cookie = (switched.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^slack_session=/);
    return {
      cookie,
      act: (body) =>
        post(JSON.stringify({ viewer: userId, ...(body as object) }), {
          'content-type': 'application/json',
          cookie,
        }),
      screen: (query, accept) => nextScreen(`${base}client/stream?${query}`, cookie, accept),
    };
  }

  test('the page is served with a policy that allows only its own script, styles and stream', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const script = await fetch(`${base}client/client.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('/client/act');
  });

  test('signing in picks a Slack browser session that Sign in with Slack then sees', async () => {
    const alice = await person('U_ALICE');
    expect(h.sandbox.slack.oidc.sessionUser(alice.cookie)).toBe('U_ALICE');
    const screen = await alice.screen('tab=messages', (s) => s.viewer !== null);
    expect(screen.viewer).toBe('U_ALICE');
    expect(screen.topbar).toContain('Alice Archer');
  });

  test('each person sees only their own ephemeral messages, and the page updates as they arrive', async () => {
    const alice = await person('U_ALICE');
    const bob = await person('U_BOB');
    const general = h.sandbox.slack.channel('general').id;
    const aliceSees = alice.screen(`c=${general}`, (s) => s.main.includes('Your connections'));
    expect((await alice.act({ kind: 'send', conversation: general, text: '/agent connect' })).status).toBe(
      200,
    );
    expect((await aliceSees).main).toContain('Only visible to you');
    const bobSees = await bob.screen(`c=${general}`, (s) => s.viewer === 'U_BOB');
    expect(bobSees.main).not.toContain('Your connections');
  });

  test('a channel someone is not in is neither listed nor writable for them', async () => {
    const bob = await person('U_BOB');
    const secret = h.sandbox.slack.channel('secret-project');
    expect(secret.members).not.toContain('U_BOB');
    const screen = await bob.screen('tab=messages', (s) => s.viewer === 'U_BOB');
    expect(screen.sidebar).not.toContain('secret-project');
    const sent = await bob.act({ kind: 'send', conversation: secret.id, text: 'hello' });
    expect(sent.status).toBe(403);
    expect(h.sandbox.slack.messages(secret.id)).toHaveLength(0);
  });

  test('typing @deputy in a channel posts the mention Slack would, and the app hears it once (issue 20)', async () => {
    const alice = await person('U_ALICE');
    const general = h.sandbox.slack.channel('general').id;
    const before = h.sandbox.slack.messages(general).length;
    const sent = await alice.act({ kind: 'send', conversation: general, text: '@deputy @bob what now' });
    expect(sent.status).toBe(200);
    const posted = h.sandbox.slack.messages(general).slice(before);
    expect(posted.map((m) => m.text)).toEqual([`<@${h.sandbox.slack.botUserId}> <@U_BOB> what now`]);
    // Deputy answered the app_mention privately in the mention's thread, once.
    await h.settle();
    const answers = h.sandbox.slack
      .callsTo('chat.postEphemeral')
      .filter((c) => c.body.user === 'U_ALICE' && c.body.thread_ts === posted[0]?.ts);
    expect(answers).toHaveLength(1);
  });

  test('a message shortcut from a message’s More actions reaches the app; a message the person cannot see, or a shortcut the manifest lacks, is refused', async () => {
    const alice = await person('U_ALICE');
    const bob = await person('U_BOB');
    const general = h.sandbox.slack.channel('general').id;
    const message = h.sandbox.slack.postAsUser('U_BOB', general, 'look at this');
    const screen = await alice.screen(`c=${general}`, (s) => s.main.includes('look at this'));
    expect(screen.main).toContain('data-shortcut="run_agent_on_message"');
    const opened = () => h.sandbox.slack.callsTo('views.open').length;
    const openedBefore = opened();
    const used = await alice.act({
      kind: 'shortcut',
      channel: general,
      ts: message.ts,
      callbackId: 'run_agent_on_message',
    });
    expect(used.status).toBe(200);
    // The app opened its modal on the shortcut's trigger.
    await h.sandbox.slack.waitFor(
      'views.open',
      (c) => String(c.body.trigger_id).length > 0 && opened() > openedBefore,
    );
    const secret = h.sandbox.slack.channel('secret-project').id;
    const hidden = h.sandbox.slack.postAsUser('U_ALICE', secret, 'not for bob');
    expect(
      (
        await bob.act({
          kind: 'shortcut',
          channel: secret,
          ts: hidden.ts,
          callbackId: 'run_agent_on_message',
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await alice.act({
          kind: 'shortcut',
          channel: general,
          ts: message.ts,
          callbackId: 'delete_everything',
        })
      ).status,
    ).toBe(400);
  });

  test('the sidebar marks a conversation with messages the person has not seen, until they open it', async () => {
    const carol = await person('U_ADMIN');
    const general = h.sandbox.slack.channel('general').id;
    const random = h.sandbox.slack.channel('random').id;
    await carol.screen(`c=${random}`, (s) => s.viewer === 'U_ADMIN');
    h.sandbox.slack.postAsUser('U_BOB', general, 'news for everyone');
    const marked = await carol.screen(
      `c=${random}`,
      (s) =>
        /data-nav="C[^"]*">#\s*general<span class="ws-unread"/.test(s.sidebar) ||
        s.sidebar.includes('ws-has-unread'),
    );
    expect(marked.sidebar).toMatch(/ws-has-unread" data-nav="[^"]+">#\s*general/);
    const opened = await carol.screen(`c=${general}`, (s) => s.main.includes('news for everyone'));
    expect(opened.sidebar).not.toMatch(/ws-has-unread" data-nav="[^"]+">#\s*general/);
  });

  test('a permalink’s place opens the thread it names, the DM by its id included', async () => {
    const alice = await person('U_ALICE');
    const dm = h.sandbox.slack.dmChannelId('U_ALICE');
    const root = h.sandbox.slack.workspace.appMessage(dm, { text: 'a session root' }, 'chat.postMessage');
    h.sandbox.slack.workspace.appMessage(dm, { text: 'its answer', thread_ts: root.ts }, 'chat.postMessage');
    const screen = await alice.screen(`c=${dm}&t=${root.ts}`, (s) => s.thread.includes('its answer'));
    expect(screen.main).toContain('a session root');
  });

  test('a modal shows required-field and app errors under its inputs and stays open', async () => {
    const ada = await person('U_ADMIN');
    const general = h.sandbox.slack.channel('general').id;
    await ada.act({ kind: 'send', conversation: general, text: '/agent setup' });
    // The modal opens as a loading view at once, and is filled in place (issue 15, item 5).
    const opened = await ada.screen(
      `c=${general}`,
      (s) => s.modal?.html.includes(BasicsBlocks.name) === true,
    );
    const viewId = /data-view-id="([^"]+)"/.exec(opened.modal?.html ?? '')?.[1] ?? '';

    // Nothing typed in the required name: Slack's client refuses it itself, in its own words.
    await ada.act({ kind: 'submit', viewId, inputs: [] });
    const required = await ada.screen(`c=${general}`, (s) => s.modal?.html.includes('bk-error') === true);
    expect(required.modal?.html).toContain('Please complete this required field.');

    // A name the app refuses: its response_action errors appear under that input.
    await ada.act({
      kind: 'submit',
      viewId,
      inputs: [
        { blockId: BasicsBlocks.name, actionId: 'value', type: 'plain_text_input', values: ['Not A Name!'] },
        { blockId: BasicsBlocks.model, actionId: 'value', type: 'static_select', values: [MODELS[0]] },
        { blockId: BasicsBlocks.access, actionId: 'value', type: 'radio_buttons', values: ['everyone'] },
      ],
    });
    const refused = await ada.screen(
      `c=${general}`,
      (s) => s.modal?.html.includes('bk-error') === true && !s.modal.html.includes('Please complete'),
    );
    expect(refused.modal?.html).toMatch(/data-view-id="[^"]+"/);
    expect(h.sandbox.slack.openViews('U_ADMIN')).toHaveLength(1);
  });

  test('nobody acts on another person’s modal, and view clicks cannot be sent as someone else', async () => {
    const ada = await person('U_ADMIN');
    const bob = await person('U_BOB');
    const general = h.sandbox.slack.channel('general').id;
    await ada.act({ kind: 'send', conversation: general, text: '/agent servers' });
    const opened = await ada.screen(`c=${general}`, (s) => s.modal?.html.includes('data-action-id') === true);
    const viewId = /data-view-id="([^"]+)"/.exec(opened.modal?.html ?? '')?.[1] ?? '';
    expect((await bob.act({ kind: 'submit', viewId, inputs: [] })).status).toBe(403);
    // A real element of the modal, so only the "as someone else" rule can refuse it.
    const tag = /<[^>]*data-action-id="[^"]+"[^>]*>/.exec(opened.modal?.html ?? '')?.[0] ?? '';
    const actionId = /data-action-id="([^"]+)"/.exec(tag)?.[1] ?? '';
    const blockId = /data-block-id="([^"]*)"/.exec(tag)?.[1] ?? '';
    const forged = await ada.act({
      kind: 'action',
      surface: { kind: 'view', viewId },
      actionId,
      blockId,
      as: 'U_BOB',
    });
    expect(forged.status).toBe(400);
    expect(forged.json.error).toBe('Only message buttons can be tried as someone else.');
  });

  test('a click must name an element that is on the message', async () => {
    const alice = await person('U_ALICE');
    const general = h.sandbox.slack.channel('general').id;
    await alice.act({ kind: 'send', conversation: general, text: '/agent connect' });
    const message = await alice.screen(`c=${general}`, (s) => s.main.includes('Your connections'));
    const ts = [...message.main.matchAll(/data-ts="([^"]+)"/g)].map((m) => m[1]).pop() ?? '';
    const invented = await alice.act({
      kind: 'action',
      surface: { kind: 'message', channel: general, ts },
      actionId: 'session_approve',
      blockId: 'made-up',
    });
    expect(invented.status).toBe(400);
  });

  test('a tab still showing someone else cannot act once the browser switched person', async () => {
    const alice = await person('U_ALICE');
    const stale = await alice.act({ kind: 'send', conversation: 'C_GENERAL', text: 'hi', viewer: 'U_BOB' });
    expect(stale.status).toBe(409);
  });

  test('what a page never sends is refused with a 4xx and reaches nobody', async () => {
    const json = { 'content-type': 'application/json' };
    expect((await post('kind=send', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(
      415,
    );
    expect((await post('{not json', json)).status).toBe(400);
    expect((await post(JSON.stringify({ kind: 'delete_everything' }), json)).status).toBe(400);
    const canary = 'canary-anonymous-message';
    const anonymous = await post(
      JSON.stringify({ kind: 'send', conversation: 'C_GENERAL', text: canary, viewer: 'U_ALICE' }),
      json,
    );
    expect(anonymous.status).toBe(401);
    expect((await post(JSON.stringify({ kind: 'switch', user: 'U_DEPUTY' }), json)).status).toBe(400);
    const everything = h.sandbox.slack.workspace.channels.flatMap((c) => h.sandbox.slack.messages(c.id));
    expect(everything.some((m) => m.text.includes(canary))).toBe(false);
  });
});

/** Reads server-sent `screen` events until one is accepted (or the time runs out). */
async function nextScreen(url: string, cookie: string, accept: (s: Screen) => boolean): Promise<Screen> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const response = await fetch(url, { headers: { cookie }, signal: controller.signal });
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no stream');
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      buffered += decoder.decode(value, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (frame.startsWith('event: screen') && data) {
          const screen = JSON.parse(data) as Screen;
          if (accept(screen)) return screen;
        }
        end = buffered.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
