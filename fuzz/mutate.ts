import { createHmac } from 'node:crypto';
import { signWebhook } from '../sandbox/managed-agents/webhooks.js';
import type { Seed } from './corpus.js';
import type { Random } from './random.js';

/** One request the fuzzer sends. */
export interface FuzzRequest {
  /** Which of Deputy's surfaces it is for. */
  route: 'slack' | 'webhook' | 'browser';
  /** What was done to its seed, for the report. */
  label: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

export interface Signers {
  signingSecret: string;
  webhookKey: string;
  nowSeconds: () => number;
}

const IDS = ['U_ALICE', 'U_BOB', 'U_ADMIN', 'U_GHOST', 'T_OTHER', 'E_ORG', 'e_lower', '', 'U', 'W0'];
const TYPES = [
  'block_actions',
  'view_submission',
  'view_closed',
  'shortcut',
  'message_action',
  'block_suggestion',
  'event_callback',
  'url_verification',
  'interactive_message',
  'dialog_submission',
  'app_rate_limited',
  'function_executed',
  'message',
  'app_home_opened',
];

/** Characters that break naive parsers, escapers and terminals (NUL, RTL override, an emoji, quoting). */
const AWKWARD_CHARACTERS = 'ÅßΩ≈ç√∫˜µ≤≥÷\u0000\u202e\ud83d\ude00<>&"\'`$' + '{}%\\/';

/** A value of the wrong shape, size or kind for wherever it lands. */
function hostileValue(random: Random): unknown {
  switch (random.below(16)) {
    case 0:
      return null;
    case 1:
      return random.pick([0, -1, 1e308, 2 ** 53 + 1, 3.5, Number.NaN]);
    case 2:
      return random.chance(0.5);
    case 3:
      return '';
    case 4:
      return 'x'.repeat(random.pick([256, 2001, 3001, 40_001, 150_000]));
    case 5:
      return random.text(random.below(40), AWKWARD_CHARACTERS);
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return random.pick(IDS);
    case 9:
      return random.pick(TYPES);
    case 10:
      return { __proto__: { polluted: true }, constructor: { prototype: {} } };
    case 11:
      return [null, {}, 'x'];
    case 12:
      return random.pick(['1795986541.000100', '1.1', '-1', '99999999999999999999.1', 'ts']);
    case 13:
      return random.pick(['https://evil.example/x', 'javascript:alert(1)', 'http://127.0.0.1:1/', 'notaurl']);
    case 14:
      return '{"nested":"json"}';
    default:
      return random.text(1 + random.below(12));
  }
}

/** The JSON in `text`, or the text itself when an earlier change left it unparseable. */
function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Every path to a value inside `value` (arrays by index), the root excluded. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  if (out.length > 400) return out;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      out.push([...prefix, index]);
      paths(item, [...prefix, index], out);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      out.push([...prefix, key]);
      paths(item, [...prefix, key], out);
    }
  }
  return out;
}

/** One structural change to a parsed JSON value: a field removed, replaced or added, an array grown. */
function mutateJson(random: Random, root: unknown): { value: unknown; label: string } {
  const all = paths(root);
  if (all.length === 0) return { value: hostileValue(random), label: 'root replaced' };
  const path = random.pick(all);
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1] as string | number;
  let parent = root as Record<string | number, unknown>;
  for (const step of parentPath) parent = parent[step] as Record<string | number, unknown>;
  const where = path.join('.');
  switch (random.below(5)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      return { value: root, label: `removed ${where}` };
    case 1: {
      const current = parent[key];
      parent[key] = Array.isArray(current) ? [...current, ...current] : hostileValue(random);
      return { value: root, label: `doubled or replaced ${where}` };
    }
    case 2: {
      const added = random.pick([
        'extra',
        'response_url',
        'user',
        'team',
        'enterprise',
        'view',
        'actions',
        'state',
        'function_data',
        'authorizations',
        'thread_ts',
        'bot_id',
        'subtype',
      ]);
      if (parent && typeof parent === 'object' && !Array.isArray(parent))
        parent[added] = hostileValue(random);
      return { value: root, label: `added ${parentPath.join('.')}.${added}` };
    }
    default:
      parent[key] = hostileValue(random);
      return { value: root, label: `replaced ${where}` };
  }
}

/** A change to a slash command's form: a field removed, repeated or replaced. */
function mutateForm(random: Random, form: URLSearchParams): string {
  const keys = [...new Set(form.keys())];
  const key = random.pick([...keys, 'extra']);
  switch (random.below(4)) {
    case 0:
      form.delete(key);
      return `removed ${key}`;
    case 1:
      form.append(key, String(hostileValue(random)));
      return `repeated ${key}`;
    case 2:
      form.set(
        'text',
        `${random.pick(['run', 'run --agent fuzzer', 'setup', 'connect', 'status', 'servers', 'sessions', 'agents', 'help', ''])} ${String(hostileValue(random))}`,
      );
      return 'text replaced';
    default:
      form.set(key, String(hostileValue(random)));
      return `replaced ${key}`;
  }
}

/** A Slack request: the seed changed (most often) and signed (most often), or broken on the wire. */
function slackRequest(random: Random, seed: Extract<Seed, { kind: 'slack' }>, signers: Signers): FuzzRequest {
  let body: string = seed.body;
  let contentType = seed.contentType;
  const labels: string[] = [seed.name];
  const rounds = random.chance(0.15) ? 0 : 1 + random.below(3);
  for (let i = 0; i < rounds; i += 1) {
    if (contentType === 'application/json') {
      const changed = mutateJson(random, parseOr(body));
      body = JSON.stringify(changed.value) ?? 'null';
      labels.push(changed.label);
      continue;
    }
    const form = new URLSearchParams(body);
    const payload = form.get('payload');
    if (payload !== null && !random.chance(0.1)) {
      const changed = mutateJson(random, parseOr(payload));
      form.set('payload', JSON.stringify(changed.value) ?? 'null');
      labels.push(changed.label);
    } else {
      labels.push(mutateForm(random, form));
    }
    body = form.toString();
  }
  let bytes = Buffer.from(body);
  if (random.chance(0.05)) {
    // Broken on the wire: cut short, bytes that are not UTF-8, or a media type Slack never sends.
    const how = random.below(4);
    if (how === 0) bytes = bytes.subarray(0, random.below(bytes.length + 1));
    if (how === 1) bytes = Buffer.concat([bytes, Buffer.from([0xff, 0xfe, 0xc3])]);
    if (how === 2) contentType = random.pick(['text/plain', 'application/xml', '', 'multipart/form-data']);
    if (how === 3) contentType = `${contentType}; charset=${random.pick(['utf-8', 'latin1', '"x"'])}`;
    labels.push(['truncated', 'bad utf-8', 'content type', 'charset'][how] ?? '');
  }
  const headers: Record<string, string | string[]> = {
    'content-type': contentType,
    ...signatureHeaders(random, bytes, signers, labels),
  };
  if (random.chance(0.05)) {
    headers['x-slack-retry-num'] = random.pick(['1', '2', '3', 'x', '-1']);
    headers['x-slack-retry-reason'] = random.pick(['http_timeout', 'http_error', 'unknown']);
  }
  return {
    route: 'slack',
    label: labels.join(' / '),
    method: 'POST',
    path: '/slack/events',
    headers,
    body: bytes,
  };
}

/** Signed rightly four times in five; otherwise unsigned, forged, stale or malformed. */
function signatureHeaders(
  random: Random,
  body: Buffer,
  signers: Signers,
  labels: string[],
): Record<string, string | string[]> {
  const now = signers.nowSeconds();
  const mac = signBytes(body, signers.signingSecret, now);
  const signed = { 'x-slack-request-timestamp': String(now), 'x-slack-signature': mac };
  if (!random.chance(0.2)) return signed;
  const how = random.below(9);
  labels.push(
    `signature: ${['none', 'wrong secret', 'stale', 'future', 'junk after', 'upper case', 'two headers', 'bad timestamp', 'v1'][how]}`,
  );
  switch (how) {
    case 0:
      return {};
    case 1:
      return { ...signed, 'x-slack-signature': signBytes(body, 'not-the-secret', now) };
    case 2:
      return {
        'x-slack-request-timestamp': String(now - 301),
        'x-slack-signature': signBytes(body, signers.signingSecret, now - 301),
      };
    case 3:
      return {
        'x-slack-request-timestamp': String(now + 301),
        'x-slack-signature': signBytes(body, signers.signingSecret, now + 301),
      };
    case 4:
      return { 'x-slack-request-timestamp': String(now), 'x-slack-signature': `${mac},junk` };
    case 5:
      return {
        'x-slack-request-timestamp': String(now),
        'x-slack-signature': `v0=${mac.slice(3).toUpperCase()}`,
      };
    case 6:
      return { 'x-slack-request-timestamp': String(now), 'x-slack-signature': [mac, mac] };
    case 7:
      return { 'x-slack-request-timestamp': `${now}.5`, 'x-slack-signature': mac };
    default:
      return { 'x-slack-request-timestamp': String(now), 'x-slack-signature': mac.replace('v0=', 'v1=') };
  }
}

/** Slack's v0 signature over the exact bytes sent (which need not be UTF-8). */
function signBytes(body: Buffer, secret: string, timestamp: number): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

function webhookRequest(
  random: Random,
  seed: Extract<Seed, { kind: 'webhook' }>,
  signers: Signers,
): FuzzRequest {
  const labels = [seed.name];
  let body = seed.body;
  if (!random.chance(0.2)) {
    const changed = mutateJson(random, parseOr(body));
    body = JSON.stringify(changed.value) ?? 'null';
    labels.push(changed.label);
  }
  if (random.chance(0.05)) {
    body = random.pick(['{not json', '', '[]', 'null', '"x"']);
    labels.push('not an event');
  }
  const id = random.chance(0.5) ? (seed.headers['webhook-id'] ?? 'msg_x') : `msg_${random.text(12)}`;
  const signed = signWebhook(body, signers.webhookKey, { id, timestampSeconds: signers.nowSeconds() });
  let headers: Record<string, string | string[]> = { 'content-type': 'application/json', ...signed.headers };
  if (random.chance(0.25)) {
    const how = random.below(6);
    labels.push(`signature: ${['none', 'forged', 'fraction', 'stale', 'two', 'junk'][how]}`);
    if (how === 0) headers = { 'content-type': 'application/json' };
    if (how === 1)
      headers['webhook-signature'] = signWebhook(
        body,
        `whsec_${Buffer.from('forged-key-forged-key-forged-key').toString('base64')}`,
        { id, timestampSeconds: signers.nowSeconds() },
      ).headers['webhook-signature'];
    if (how === 2) headers['webhook-timestamp'] = `${signed.headers['webhook-timestamp']}.5`;
    if (how === 3)
      headers = {
        ...headers,
        ...signWebhook(body, signers.webhookKey, { id, timestampSeconds: signers.nowSeconds() - 600 })
          .headers,
      };
    if (how === 4)
      headers['webhook-signature'] = [
        signed.headers['webhook-signature'],
        signed.headers['webhook-signature'],
      ];
    if (how === 5) headers['webhook-signature'] = `${signed.headers['webhook-signature']} junk`;
  }
  return {
    route: 'webhook',
    label: labels.join(' / '),
    method: 'POST',
    path: '/webhooks/anthropic',
    headers,
    body: Buffer.from(body),
  };
}

function browserRequest(random: Random, seed: Extract<Seed, { kind: 'browser' }>): FuzzRequest {
  const url = new URL(seed.path, 'http://deputy.invalid');
  const labels = [seed.name];
  const params = ['code', 'state', 'error', 'error_description', 'iss', 'flow', 'handle', 'x'];
  for (let i = random.below(4); i > 0; i -= 1) {
    const name = random.pick(params);
    url.searchParams.set(name, String(hostileValue(random)).slice(0, 3000));
    labels.push(`query ${name}`);
  }
  if (random.chance(0.2)) {
    url.pathname = `${url.pathname}${random.pick(['/', '/..', '/%2e%2e/x', '%00', `/${random.text(300)}`, '/../../etc/passwd'])}`;
    labels.push('path');
  }
  const method = random.chance(0.1) ? random.pick(['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) : 'GET';
  const headers: Record<string, string> = random.chance(0.2)
    ? {
        cookie: `deputy_connect=${random.text(40)}; other=${String(hostileValue(random))
          .slice(0, 200)
          .replace(/[^\x21-\x7e]/g, '')}`,
      }
    : {};
  return {
    route: 'browser',
    label: labels.join(' / '),
    method,
    path: `${url.pathname}${url.search}`,
    headers,
  };
}

/** The next request: a mutation of a seed drawn at random. */
export function nextRequest(random: Random, seeds: readonly Seed[], signers: Signers): FuzzRequest {
  const seed = random.pick(seeds);
  switch (seed.kind) {
    case 'slack':
      return slackRequest(random, seed, signers);
    case 'webhook':
      return webhookRequest(random, seed, signers);
    case 'browser':
      return browserRequest(random, seed);
  }
}
