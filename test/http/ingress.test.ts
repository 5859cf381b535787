import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { slashCommandBody } from '../../sandbox/slack/payloads.js';
import { type Harness, startHarness } from '../support/harness.js';

const FORM = 'application/x-www-form-urlencoded';
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => h.sandbox.slack.reset());

function statusCommandBody(): string {
  const slack = h.sandbox.slack;
  return slashCommandBody(slack, {
    userId: 'U_ALICE',
    text: 'status',
    command: '/agent',
    channel: slack.channel('general'),
    responseUrl: slack.newResponseUrl({ userId: 'U_ALICE' }),
    triggerId: slack.newTriggerId({ userId: 'U_ALICE' }),
  });
}

/** What exists outside the audit trail: Managed Agents requests so far, and the app's state. */
async function snapshot() {
  const items = await h.scanTables();
  return {
    managedAgentsRequests: h.sandbox.managedAgents.requests.length,
    appState: items.filter((item) => !('gsi2pk' in item)),
  };
}

/** Nothing happened since `before` (audit records aside): no Slack call, no Managed Agents call, no state. */
async function expectNothingHappened(before: Awaited<ReturnType<typeof snapshot>>) {
  expect(h.sandbox.slack.calls).toEqual([]);
  expect(await snapshot()).toEqual(before);
}

describe('Slack request signatures', () => {
  const nowSeconds = () => Math.floor(h.clock.now() / 1000);

  test('a request signed with the wrong secret gets 401, is audited, and nothing else happens', async () => {
    const before = await snapshot();
    const auditBefore = (await h.store.audit.byPrincipal(undefined)).length;
    const response = await h.driver.send({
      body: statusCommandBody(),
      contentType: FORM,
      signingSecret: 'not-the-secret',
    });
    expect(response.status).toBe(401);
    await expectNothingHappened(before);
    const refusals = await h.store.audit.byPrincipal(undefined);
    expect(refusals.length).toBe(auditBefore + 1);
    expect(refusals.at(-1)).toMatchObject({
      action: 'slack.signature_refused',
      outcome: 'refused',
      target: '/slack/events',
      details: { reason: 'bad_signature' },
    });
  });

  test('a body changed after signing gets 401', async () => {
    const before = await snapshot();
    const body = statusCommandBody();
    const { signSlackRequest } = await import('../../sandbox/slack/signing.js');
    const headers = signSlackRequest(body, h.sandbox.signingSecret, nowSeconds());
    const tampered = body.replace('U_ALICE', 'U_BOB');
    const response = await h.driver.send({
      body: tampered,
      contentType: FORM,
      signature: headers['x-slack-signature'],
    });
    expect(response.status).toBe(401);
    await expectNothingHappened(before);
  });

  test('a request without signature headers gets 401', async () => {
    const response = await fetch(`${h.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: statusCommandBody(),
    });
    expect(response.status).toBe(401);
  });

  test.each([
    ['301 s old', -301],
    ['301 s ahead', 301],
  ])('a timestamp %s gets 401 and nothing happens', async (_label, offset) => {
    const before = await snapshot();
    const response = await h.driver.send({
      body: statusCommandBody(),
      contentType: FORM,
      timestampSeconds: nowSeconds() + offset,
    });
    expect(response.status).toBe(401);
    await expectNothingHappened(before);
  });

  test.each([
    ['300 s old', -300],
    ['300 s ahead', 300],
  ])('a timestamp %s is accepted and the command runs', async (_label, offset) => {
    const response = await h.driver.send({
      body: statusCommandBody(),
      contentType: FORM,
      timestampSeconds: nowSeconds() + offset,
    });
    expect(response.status).toBe(200);
    await h.sandbox.slack.waitFor('response_url');
  });
});

describe('malformed requests', () => {
  const noStackTrace = (text: string) => expect(text).not.toMatch(/\bat .+:\d+|Error:|node_modules/);

  test('a signed body that is neither form nor JSON gets 415', async () => {
    const response = await h.driver.send({ body: 'hello there', contentType: 'text/plain' });
    expect(response.status).toBe(415);
    noStackTrace(response.text);
  });

  test('a signed slash command without a user gets 400 and changes nothing', async () => {
    const before = await snapshot();
    const body = new URLSearchParams({
      command: '/agent',
      text: 'status',
      team_id: h.sandbox.slack.teamId,
    }).toString();
    const response = await h.driver.send({ body, contentType: FORM });
    expect(response.status).toBe(400);
    noStackTrace(response.text);
    await expectNothingHappened(before);
  });

  test('a signed interaction whose payload is not JSON gets 400', async () => {
    const response = await h.driver.send({ body: 'payload=%7Bnot-json', contentType: FORM });
    expect(response.status).toBe(400);
    noStackTrace(response.text);
  });

  test('a signed JSON body that is not a Slack event gets 400', async () => {
    const response = await h.driver.send({ body: '{"type":"nonsense"}', contentType: 'application/json' });
    expect(response.status).toBe(400);
    const broken = await h.driver.send({ body: '{"type":', contentType: 'application/json' });
    expect(broken.status).toBe(400);
    noStackTrace(broken.text);
  });

  test('an oversized body gets 413 before any work', async () => {
    const response = await h.driver.send({ body: `text=${'a'.repeat(300_000)}`, contentType: FORM });
    expect(response.status).toBe(413);
  });

  test('a GET on the events endpoint gets 405', async () => {
    const response = await fetch(`${h.url}/slack/events`);
    expect(response.status).toBe(405);
  });
});

describe('other routes', () => {
  test('GET /healthz answers 200', async () => {
    const response = await fetch(`${h.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  test('an unknown path answers 404 with a plain message', async () => {
    const response = await fetch(`${h.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not found.');
  });

  test('Slack URL verification is answered with the challenge', async () => {
    const response = await h.driver.urlVerification('challenge-123');
    expect(response.status).toBe(200);
    expect(response.text).toContain('challenge-123');
  });

  test('a signed event is acknowledged', async () => {
    const response = await h.driver.event({
      type: 'app_mention',
      user: 'U_ALICE',
      text: 'hi',
      channel: 'C1',
      ts: '1.1',
    });
    expect(response.status).toBe(200);
  });
});
