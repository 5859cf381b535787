import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { eventEnvelope, slashCommandBody, viewPayload } from '../../sandbox/slack/payloads.js';
import { signSlackRequest } from '../../sandbox/slack/signing.js';
import { ConnectActions, PASTE_TOKEN_CALLBACK } from '../../src/blocks/connections.js';
import { SessionActions } from '../../src/blocks/sessions.js';
import { type Harness, startHarness } from '../support/harness.js';

/**
 * The failures issue 13 reported from a fuzz run against the sandbox, one test each: signed input that
 * reached code that throws, requests nobody answered, failures after the ack that nobody heard of,
 * loose signature checks, and a connection left unusable by a 413.
 */

const FORM = 'application/x-www-form-urlencoded';
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => {
  h.sandbox.slack.reset();
  h.logLines.length = 0;
});

const form = (payload: unknown) => ({
  body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
  contentType: FORM,
});
const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });

function envelope(event: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    ...eventEnvelope(h.sandbox.slack, {
      event,
      eventId: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
      eventTime: Math.floor(h.clock.now() / 1000),
    }),
    ...extra,
  };
}

function commandBody(userId: string, text: string, fields: Record<string, string> = {}): string {
  const slack = h.sandbox.slack;
  const channel = slack.channel('general');
  const params = new URLSearchParams(
    slashCommandBody(slack, {
      userId: slack.users.some((u) => u.id === userId) ? userId : 'U_ALICE',
      text,
      command: '/agent',
      channel,
      responseUrl: slack.newResponseUrl({ channelId: channel.id, userId }),
      triggerId: slack.newTriggerId({ userId }),
    }),
  );
  params.set('user_id', userId);
  for (const [name, value] of Object.entries(fields)) params.set(name, value);
  return params.toString();
}

/** A log line that says an error reached no handler of Deputy's own. */
function unhandledLines(): string[] {
  return h.logLines.filter((line) => /unhandled|failed before dispatch|"level":"error"/i.test(line));
}

const user = () => ({ id: 'U_BOB', team_id: h.sandbox.slack.teamId });
const team = () => ({ id: h.sandbox.slack.teamId });

/** A click as Slack sends it, on a message in #general; `action` replaces fields of the action. */
function click(action: Record<string, unknown> = {}, fields: Record<string, unknown> = {}) {
  return form({
    type: 'block_actions',
    user: user(),
    team: team(),
    api_app_id: h.sandbox.slack.appId,
    trigger_id: '1795986541.1.abc',
    container: {
      type: 'message',
      channel_id: 'C_GENERAL',
      message_ts: '1795986540.000100',
      is_ephemeral: false,
    },
    channel: { id: 'C_GENERAL', name: 'general' },
    response_url: h.sandbox.slack.newResponseUrl({ userId: 'U_BOB' }),
    actions: [
      {
        type: 'button',
        action_id: SessionActions.Stop,
        block_id: 'controls',
        value: 'sesn_nothere',
        action_ts: '1795986541.000200',
        ...action,
      },
    ],
    ...fields,
  });
}

const modal = () => ({
  id: 'V1',
  type: 'modal',
  callback_id: 'x',
  private_metadata: '',
  state: { values: {} },
});

describe('signed payloads Bolt cannot take are a 400, never an empty 500', () => {
  const cases: Array<[string, () => { body: string; contentType: string }]> = [
    ['actions not an array', () => click({}, { actions: {} })],
    [
      'event.user null',
      () => json(envelope({ type: 'message', user: null, text: 'hi', channel: 'D1', ts: '1.1' })),
    ],
    [
      'event.item null',
      () => json(envelope({ type: 'reaction_added', user: 'U_BOB', item: null, reaction: 'x' })),
    ],
    [
      'event.channel not a string',
      () => json(envelope({ type: 'message', user: 'U_BOB', text: 'hi', channel: 5, ts: '1.1' })),
    ],
    [
      'event.channel null',
      () => json(envelope({ type: 'message', user: 'U_BOB', text: 'hi', channel: null, ts: '1.1' })),
    ],
    ['view_submission without view', () => form({ type: 'view_submission', user: user(), team: team() })],
    ['view_closed without view', () => form({ type: 'view_closed', user: user(), team: team() })],
    [
      'function_executed without its id',
      () => json(envelope({ type: 'function_executed', function: { callback_id: 'f' }, inputs: {} })),
    ],
    [
      'authorizations [null]',
      () =>
        json(
          envelope(
            { type: 'app_home_opened', user: 'U_BOB', channel: 'D1', tab: 'home' },
            { authorizations: [null] },
          ),
        ),
    ],
    [
      'response_urls null',
      () =>
        form({ ...viewPayload(h.sandbox.slack, 'view_submission', 'U_BOB', modal()), response_urls: null }),
    ],
    ['a numeric action id', () => click({ action_id: 5 })],
    ['a button value of 150 KB', () => click({ value: 'v'.repeat(150_000) })],
    ["a button value past Slack's 2,000 characters", () => click({ value: 'v'.repeat(2001) })],
    [
      'a command with enterprise_id=e_lower',
      () => ({ body: commandBody('U_BOB', 'status', { enterprise_id: 'e_lower' }), contentType: FORM }),
    ],
  ];
  test.each(cases)('%s', async (_name, build) => {
    const response = await h.driver.send(build());
    expect(response.status).toBe(400);
    await h.settle();
    expect(unhandledLines()).toEqual([]);
    expect(h.sandbox.slack.calls).toEqual([]);
  });

  test('the same click, well formed, is taken (so each case above differs only in what it names)', async () => {
    const response = await h.driver.send(click());
    expect(response.status).toBe(200);
    await h.settle();
    expect(unhandledLines()).toEqual([]);
  });
});

describe('every request Slack may send is answered at once, with a 200', () => {
  test('unknown actions, callbacks, shortcuts, other commands, view_closed and app_rate_limited', async () => {
    const slack = h.sandbox.slack;
    const requests = [
      form({
        type: 'block_actions',
        user: user(),
        team: team(),
        trigger_id: '1.2.3',
        container: { type: 'message', channel_id: 'C1', message_ts: '1.1' },
        actions: [{ type: 'button', action_id: 'not_ours', block_id: 'b', action_ts: '1.2' }],
      }),
      form(
        viewPayload(
          slack,
          'view_submission',
          'U_BOB',
          { id: 'V1', type: 'modal', callback_id: 'not_ours', state: { values: {} } },
          '1.2.4',
        ),
      ),
      form(
        viewPayload(slack, 'view_closed', 'U_BOB', {
          id: 'V1',
          type: 'modal',
          callback_id: 'not_ours',
          state: { values: {} },
        }),
      ),
      form({ type: 'shortcut', callback_id: 'not_ours', trigger_id: '1.2.5', user: user(), team: team() }),
      form({
        type: 'message_action',
        callback_id: 'not_ours',
        trigger_id: '1.2.6',
        user: user(),
        team: team(),
        channel: { id: 'C1' },
        message: { ts: '1.1', text: 'x' },
        response_url: slack.newResponseUrl({ userId: 'U_BOB' }),
      }),
      {
        body: commandBody('U_BOB', 'hello').replace('command=%2Fagent', 'command=%2Fother'),
        contentType: FORM,
      },
      json({
        type: 'app_rate_limited',
        team_id: slack.teamId,
        minute_rate_limited: 1,
        api_app_id: slack.appId,
        token: 'x',
      }),
      json(
        envelope({
          type: 'reaction_added',
          user: 'U_BOB',
          item: { type: 'message', channel: 'C1', ts: '1.1' },
          reaction: 'x',
        }),
      ),
    ];
    const responses = await Promise.all(requests.map((r) => h.driver.send(r)));
    expect(responses.map((r) => r.status)).toEqual(requests.map(() => 200));
    await h.settle();
    expect(unhandledLines()).toEqual([]);
  });

  test('a modal submitted without its state is a 400, not silence', async () => {
    const slack = h.sandbox.slack;
    const view = {
      id: 'V2',
      callback_id: PASTE_TOKEN_CALLBACK,
      private_metadata: '{"connectorId":"linear"}',
      blocks: [],
    };
    const response = await h.driver.send(form(viewPayload(slack, 'view_submission', 'U_BOB', view, '1.2.7')));
    expect(response.status).toBe(400);
    expect(unhandledLines()).toEqual([]);
  });
});

describe('a failure after the ack reaches the person, and is never "unhandled"', () => {
  test('a reply to someone Slack cannot find (user_not_found), once every way to them fails, is a warning', async () => {
    // The response_url is refused, the ephemeral and the DM find no such person: nobody is left to tell.
    h.sandbox.slack.injectError('response_url', { error: 'used_url', httpStatus: 404 });
    const response = await h.driver.send({ body: commandBody('U_GHOST', 'status'), contentType: FORM });
    expect(response.status).toBe(200);
    await h.settle();
    expect(h.logLines.some((l) => l.includes('the person cannot be reached in Slack'))).toBe(true);
    expect(unhandledLines()).toEqual([]);
  });

  test('a click whose listener fails after the ack is logged with its correlation id and answered privately', async () => {
    const slack = h.sandbox.slack;
    // Disconnect answers by replacing the message it was clicked in; Slack refuses that once.
    slack.injectError('response_url', { error: 'no_service', httpStatus: 404 });
    const response = await h.driver.send(click({ action_id: ConnectActions.Disconnect, value: 'linear' }));
    expect(response.status).toBe(200);
    await h.settle();
    expect(h.logLines.filter((line) => line.includes('unhandled'))).toEqual([]);
    const failure = h.logLines.find((line) => line.includes('"listener failed"'));
    expect(failure).toMatch(/"correlationId":"req_/);
    const reference = /"correlationId":"(req_[^"]+)"/.exec(failure ?? '')?.[1];
    expect(slack.ephemerals('U_BOB').map((m) => m.text)).toContainEqual(
      expect.stringContaining(String(reference)),
    );
  });

  test('Stop clicked on the Home tab (no response_url) is answered, and nothing is logged as unhandled', async () => {
    const slack = h.sandbox.slack;
    const payload = {
      type: 'block_actions',
      user: user(),
      team: team(),
      trigger_id: '1.2.8',
      container: { type: 'view', view_id: 'V3' },
      view: { id: 'V3', callback_id: 'x', type: 'home', state: { values: {} } },
      actions: [
        {
          type: 'button',
          action_id: SessionActions.Stop,
          block_id: 'b',
          value: 'sesn_nothere',
          action_ts: slack.workspace.nextTs(),
        },
      ],
    };
    const response = await h.driver.send(form(payload));
    expect(response.status).toBe(200);
    await h.settle();
    expect(unhandledLines()).toEqual([]);
  });
});

describe('signatures are exactly well formed', () => {
  const nowSeconds = () => Math.floor(h.clock.now() / 1000);
  const body = () => commandBody('U_BOB', 'help');

  test.each([
    ['a trailing ",junk"', (mac: string) => `${mac},junk`],
    ['one extra hex digit', (mac: string) => `${mac}0`],
    ['upper-case hex', (mac: string) => `v0=${mac.slice(3).toUpperCase()}`],
  ])('%s is refused with 401', async (_name, mangle) => {
    const signed = body();
    const mac = signSlackRequest(signed, h.sandbox.signingSecret, nowSeconds())['x-slack-signature'];
    const response = await h.driver.send({ body: signed, contentType: FORM, signature: mangle(mac) });
    expect(response.status).toBe(401);
  });

  test('a second x-slack-signature header is refused with 401', async () => {
    const signed = body();
    const headers = signSlackRequest(signed, h.sandbox.signingSecret, nowSeconds());
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.url}/slack/events`);
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST' },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.setHeader('content-type', FORM);
      req.setHeader('x-slack-request-timestamp', headers['x-slack-request-timestamp']);
      req.setHeader('x-slack-signature', [headers['x-slack-signature'], headers['x-slack-signature']]);
      req.end(signed);
    });
    expect(status).toBe(401);
  });

  test('a webhook timestamp with a fraction is refused with 401', async () => {
    const event = h.sandbox.managedAgents.webhookEvent('vault_credential.refresh_failed', 'vcrd_x', {
      vault_id: 'vlt_x',
    });
    const signed = h.sandbox.managedAgents.signWebhook(event, h.sandbox.webhookSigningKey);
    const response = await fetch(`${h.url}/webhooks/anthropic`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signed.headers,
        'webhook-timestamp': `${signed.headers['webhook-timestamp']}.5`,
      },
      body: signed.body,
    });
    expect(response.status).toBe(401);
  });

  test('a correctly signed webhook that is not JSON is a 400, audited as malformed rather than forged', async () => {
    const signed = h.sandbox.managedAgents.signWebhook('{not json', h.sandbox.webhookSigningKey, {
      id: 'msg_notjson',
    });
    const response = await fetch(`${h.url}/webhooks/anthropic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signed.headers },
      body: signed.body,
    });
    expect(response.status).toBe(400);
    const refusals = await h.store.audit.byPrincipal(undefined);
    expect(refusals).toContainEqual(
      expect.objectContaining({ action: 'webhook.refused', details: { reason: 'malformed_body' } }),
    );
  });
});

describe('a connection survives a refusal', () => {
  test('after a 413 on a kept-alive connection, the next request on it is answered', async () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(`${h.url}/slack/events`);
    const send = (payload: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, timeout: 2000 },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
        req.on('error', reject);
        req.setHeader('content-type', FORM);
        req.end(payload);
      });
    try {
      expect(await send('x'.repeat(600 * 1024))).toBe(413);
      expect(await send('x')).toBe(401);
    } finally {
      agent.destroy();
    }
  });
});

describe('found in review', () => {
  test.each(['/slack/./events', '/slack/%2e/events', '/slack/x/../events'])(
    'an unsigned command sent to %s is refused as unsigned (security R1), and nothing happens',
    async (path) => {
      const url = new URL(h.url);
      const body = commandBody('U_ADMIN', 'suspend <@U_ALICE|alice>');
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, path, method: 'POST', timeout: 4000 },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('timeout', () => req.destroy(new Error('no answer')));
        req.on('error', reject);
        req.setHeader('content-type', FORM);
        req.end(body);
      });
      expect(status).toBe(401);
      await h.settle();
      expect(h.sandbox.slack.calls).toEqual([]);
      expect(await h.store.standing.person(`T:${h.sandbox.slack.teamId}:U_ALICE`)).toBeUndefined();
    },
  );
});

describe('found by the fuzz suite', () => {
  test('a request target `new URL` cannot parse (`//?a=1`) is answered, and the server goes on', async () => {
    const url = new URL(h.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: '//?a=1', method: 'GET', timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  test('/agent setup delivered twice opens one modal and logs no error', async () => {
    const first = await h.driver.command('U_ADMIN', 'setup');
    await h.settle();
    await h.driver.redeliver(first.request, { retryNum: 1, retryReason: 'http_timeout' });
    await h.settle();
    const opened = h.sandbox.slack.calls.filter((c) => c.method === 'views.open');
    expect(opened.map((c) => (c.response as { ok?: boolean }).ok)).toEqual([true, false]);
    expect(unhandledLines()).toEqual([]);
  });

  test('a sender that breaks off in the middle of a body is a warning, never an error', async () => {
    const url = new URL(h.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"type":',
    );
    // Let the server start reading the body, then break the connection off.
    await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
    for (let turns = 0; !h.logLines.some((l) => l.includes('request body could not be read')); turns += 1) {
      if (turns > 100_000) throw new Error('the broken-off request was never seen');
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(unhandledLines()).toEqual([]);
  });
});
