import type { LookupAddress } from 'node:dns';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, describe, expect, test } from '@jest/globals';
import { listenOnLoopback } from '../../sandbox/http.js';
import { type ListeningServer, readBody } from '../../src/http.js';
import {
  createOutboundHttp,
  OutboundRequestError,
  type ResolveHost,
  UnsafeUrlError,
} from '../../src/net/outbound-http.js';
import { urlGuardHook } from '../../src/net/outbound-request.js';
import { createGuardedLookup } from '../../src/net/url-guard.js';

const CANARY_TOKEN = 'canary_at_5d1f0c7e2b';
const CANARY_SECRET = 'canary_secret_93ab41';

const servers: ListeningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A loopback server that records each request it receives. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = await listenOnLoopback(async (req, res) => {
    hits.push(`${req.method} ${req.url}`);
    await handler(req, res);
  });
  servers.push(server);
  return { url: server.url, hits };
}

/** A DNS that answers from a table (a hostile resolver in the tests that need one). */
function fakeDns(table: Record<string, string[]>): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    calls.push(host);
    const answers = table[host];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

async function refusal(promise: Promise<unknown>): Promise<UnsafeUrlError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeUrlError);
  return error as UnsafeUrlError;
}

function expectNoSecrets(error: unknown): void {
  const rendered = `${String(error)} ${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`;
  expect(rendered).not.toContain(CANARY_TOKEN);
  expect(rendered).not.toContain(CANARY_SECRET);
}

describe('assertSafeUrl', () => {
  const strict = createOutboundHttp({ allowPrivateNetwork: false });

  test.each([
    ['http://example.com/mcp', 'not_https'],
    ['ftp://example.com/file', 'not_https'],
    ['https://127.0.0.1/', 'private_address'],
    ['https://10.0.0.1/', 'private_address'],
    ['https://172.16.5.4/', 'private_address'],
    ['https://192.168.1.1/', 'private_address'],
    ['https://100.64.0.1/', 'private_address'],
    ['https://169.254.169.254/latest/meta-data', 'private_address'],
    ['https://[::1]/', 'private_address'],
    ['https://[fe80::1]/', 'private_address'],
    ['https://[fd12:3456::1]/', 'private_address'],
    ['https://[::ffff:127.0.0.1]/', 'private_address'],
    ['https://0x7f000001/', 'private_address'],
    ['https://0.0.0.0/', 'private_address'],
    ['https://224.0.0.1/', 'private_address'],
    ['https://localhost/', 'private_address'],
    ['https://user:pass@example.com/', 'invalid_url'],
    ['not a url', 'invalid_url'],
  ])('refuses %s as %s when private networks are not allowed', async (url, reason) => {
    expect((await refusal(strict.assertSafeUrl(url))).reason).toBe(reason);
  });

  test('refuses a host name that resolves to the cloud metadata address', async () => {
    const http = createOutboundHttp({
      allowPrivateNetwork: false,
      resolveHost: fakeDns({ 'metadata.attacker.test': ['169.254.169.254'] }),
    });
    const error = await refusal(http.assertSafeUrl('https://metadata.attacker.test/.well-known/x'));
    expect(error.reason).toBe('private_address');
    expect(error.message).toContain('private_address');
  });

  test('refuses a host whose DNS answer mixes public and private addresses', async () => {
    const http = createOutboundHttp({
      allowPrivateNetwork: false,
      resolveHost: fakeDns({ 'mixed.test': ['93.184.216.34', '10.1.2.3'] }),
    });
    expect((await refusal(http.assertSafeUrl('https://mixed.test/'))).reason).toBe('private_address');
  });

  test('reports a host that does not resolve as unresolvable', async () => {
    const http = createOutboundHttp({ allowPrivateNetwork: false, resolveHost: fakeDns({}) });
    expect((await refusal(http.assertSafeUrl('https://nowhere.test/'))).reason).toBe('unresolvable');
  });

  test('accepts an https URL whose host resolves only to public addresses', async () => {
    const http = createOutboundHttp({
      allowPrivateNetwork: false,
      resolveHost: fakeDns({ 'mcp.example.test': ['93.184.216.34', '2606:2800:220:1::1'] }),
    });
    await expect(http.assertSafeUrl('https://mcp.example.test/mcp')).resolves.toBeUndefined();
    await expect(http.assertSafeUrl('https://93.184.216.34/')).resolves.toBeUndefined();
  });

  test('with private networks allowed (sandbox only), http and loopback, private and link-local hosts pass', async () => {
    const sandbox = createOutboundHttp({ allowPrivateNetwork: true });
    for (const url of [
      'http://127.0.0.1:8080/mcp',
      'https://127.0.0.1/',
      'https://10.0.0.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/',
      'http://localhost:3000/',
    ]) {
      await expect(sandbox.assertSafeUrl(url)).resolves.toBeUndefined();
    }
    expect((await refusal(sandbox.assertSafeUrl('ftp://127.0.0.1/'))).reason).toBe('not_https');
    // Even there, plain http never goes to a host on the public internet.
    for (const url of ['http://mcp.example.com/mcp', 'http://8.8.8.8/'])
      expect((await refusal(sandbox.assertSafeUrl(url))).reason).toBe('not_https');
  });
});

describe('requests under the policy', () => {
  test('a request to a loopback address is refused before connecting when private networks are not allowed', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const strict = createOutboundHttp({ allowPrivateNetwork: false });
    const httpsUrl = server.url.replace('http:', 'https:');
    expect((await refusal(strict.getJson(httpsUrl))).reason).toBe('private_address');
    expect((await refusal(strict.postForm(server.url, { code: 'x' }))).reason).toBe('not_https');
    expect(server.hits).toEqual([]);
  });

  test('the address is checked when the socket connects, so a DNS answer that changes after the pre-flight check (rebinding) is refused', async () => {
    let answer = '93.184.216.34';
    const calls: string[] = [];
    const rebinding: ResolveHost = async (host) => {
      calls.push(host);
      return [{ address: answer, family: 4 }];
    };
    const http = createOutboundHttp({ allowPrivateNetwork: false, resolveHost: rebinding });
    await http.assertSafeUrl('https://rebind.test/metadata');
    answer = '127.0.0.1';
    expect((await refusal(http.getJson('https://rebind.test/metadata'))).reason).toBe('private_address');
    expect(calls).toEqual(['rebind.test', 'rebind.test']);
  });

  test('the guarded lookup hands the socket only the addresses it checked, in both calling conventions', async () => {
    const lookup = createGuardedLookup(
      fakeDns({ 'dual.test': ['93.184.216.34', '2606:2800:220:1::1'], 'bad.test': ['127.0.0.1'] }),
    );
    const call = (host: string, options: { all?: boolean; family?: number }) =>
      new Promise<{ error: Error | null; address: unknown; family: unknown }>((resolve) => {
        lookup(host, options, (error, address, family) => resolve({ error, address, family }));
      });
    expect(await call('dual.test', { all: true })).toMatchObject({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ],
    });
    expect(await call('dual.test', { family: 6 })).toMatchObject({
      error: null,
      address: '2606:2800:220:1::1',
      family: 6,
    });
    const refused = await call('bad.test', { all: true });
    expect(refused.error).toBeInstanceOf(UnsafeUrlError);
    expect((refused.error as UnsafeUrlError).reason).toBe('private_address');
  });

  test('the redirect hook refuses hops to link-local, loopback, private and plain-http targets', () => {
    const hook = urlGuardHook(false);
    for (const [target, reason] of [
      ['https://169.254.169.254/latest/meta-data', 'private_address'],
      ['https://127.0.0.1/admin', 'private_address'],
      ['https://[::1]/', 'private_address'],
      ['https://10.0.0.1/', 'private_address'],
      ['http://example.com/', 'not_https'],
    ] as const) {
      let caught: unknown;
      try {
        hook({ url: new URL(target) });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(UnsafeUrlError);
      expect((caught as UnsafeUrlError).reason).toBe(reason);
    }
    expect(() => hook({ url: new URL('https://93.184.216.34/next') })).not.toThrow();
  });

  test('every redirect hop goes through the guard: a hop the policy refuses is never requested', async () => {
    const target = await serve((_req, res) => res.end('{"reached":true}'));
    const port = new URL(target.url).port;
    const origin = await serve((_req, res) => {
      res.writeHead(302, { location: `http://user:pw@127.0.0.1:${port}/elsewhere` });
      res.end();
    });
    const sandbox = createOutboundHttp({ allowPrivateNetwork: true });
    expect((await refusal(sandbox.getJson(`${origin.url}/start`))).reason).toBe('invalid_url');
    expect(target.hits).toEqual([]);
  });

  test('getJson follows an allowed redirect and parses the JSON it lands on', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"issuer":"x"}');
    });
    const result = await createOutboundHttp({ allowPrivateNetwork: true }).getJson(`${server.url}/old`);
    expect(result).toMatchObject({ status: 200, body: { issuer: 'x' }, text: '{"issuer":"x"}' });
    expect(server.hits).toEqual(['GET /old', 'GET /new']);
  });

  test('postForm and sendJson never follow a redirect: the 3xx is the result and its target receives nothing', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/token') {
        res.writeHead(307, { location: '/stolen' });
        return res.end();
      }
      res.end('{}');
    });
    const http = createOutboundHttp({ allowPrivateNetwork: true });
    const form = await http.postForm(`${server.url}/token`, { code: CANARY_TOKEN });
    const json = await http.sendJson('POST', `${server.url}/token`, { secret: CANARY_SECRET });
    expect(form.status).toBe(307);
    expect(json.status).toBe(307);
    expect(server.hits).toEqual(['POST /token', 'POST /token']);
  });

  test('non-2xx answers come back as results, with the body parsed when it is JSON', async () => {
    const server = await serve((req, res) => {
      res.writeHead(req.url === '/json' ? 400 : 503, { 'content-type': 'application/json' });
      res.end(req.url === '/json' ? '{"error":"invalid_request"}' : 'down');
    });
    const http = createOutboundHttp({ allowPrivateNetwork: true });
    expect(await http.getJson(`${server.url}/json`)).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect(await http.getJson(`${server.url}/text`)).toMatchObject({
      status: 503,
      body: undefined,
      text: 'down',
    });
  });

  test('postForm sends a form body and sendJson a JSON body, each with the caller headers', async () => {
    const seen: { type?: string; custom?: string; body: string }[] = [];
    const server = await serve(async (req, res) => {
      seen.push({
        ...(req.headers['content-type'] ? { type: req.headers['content-type'] } : {}),
        ...(typeof req.headers['x-test'] === 'string' ? { custom: req.headers['x-test'] } : {}),
        body: (await readBody(req)).toString(),
      });
      res.end('{}');
    });
    const http = createOutboundHttp({ allowPrivateNetwork: true });
    await http.postForm(server.url, { a: '1 2', b: 'x&y' }, { headers: { 'x-test': 'form' } });
    await http.sendJson('POST', server.url, { a: [1] }, { headers: { 'x-test': 'json' } });
    expect(seen).toEqual([
      { type: 'application/x-www-form-urlencoded', custom: 'form', body: 'a=1+2&b=x%26y' },
      { type: 'application/json', custom: 'json', body: '{"a":[1]}' },
    ]);
  });

  test('a response larger than the cap is refused, whether declared up front or streamed', async () => {
    const big = 'x'.repeat(5000);
    const server = await serve((req, res) => {
      if (req.url === '/declared') res.writeHead(200, { 'content-length': big.length });
      else res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.end(big);
    });
    const http = createOutboundHttp({ allowPrivateNetwork: true, maxResponseBytes: 1000 });
    for (const path of ['/declared', '/streamed']) {
      const error = await http.getJson(`${server.url}${path}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutboundRequestError);
      expect((error as OutboundRequestError).kind).toBe('response_too_large');
    }
  });

  test('a server that never answers ends in a timeout error that carries no header or body content', async () => {
    const server = await serve(() => undefined);
    const http = createOutboundHttp({ allowPrivateNetwork: true, timeoutMs: 150 });
    const error = await http
      .postForm(
        `${server.url}/token`,
        { client_secret: CANARY_SECRET },
        { headers: { authorization: `Bearer ${CANARY_TOKEN}` } },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRequestError);
    expect((error as OutboundRequestError).kind).toBe('timeout');
    expectNoSecrets(error);
  });
});

describe('guarded fetch', () => {
  test('streams responses, and with redirect manual returns the 3xx untouched', async () => {
    const server = await serve(async (req, res) => {
      if (req.url === '/moved') {
        res.writeHead(307, { location: '/mcp' });
        return res.end();
      }
      const body = await readBody(req);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-echo': req.headers.authorization ?? '' });
      res.write(`data: ${body.toString()}\n\n`);
      res.end('data: done\n\n');
    });
    const { fetch } = createOutboundHttp({ allowPrivateNetwork: true });
    const response = await fetch(new URL(`${server.url}/mcp`), {
      method: 'POST',
      headers: new Headers({ Authorization: 'Bearer abc', 'content-type': 'application/json' }),
      body: '{"jsonrpc":"2.0"}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-echo')).toBe('Bearer abc');
    expect(await response.text()).toBe('data: {"jsonrpc":"2.0"}\n\ndata: done\n\n');
    const manual = await fetch(`${server.url}/moved`, { redirect: 'manual' });
    expect(manual.status).toBe(307);
    expect(manual.headers.get('location')).toBe('/mcp');
  });

  test('refuses a loopback MCP URL when private networks are not allowed', async () => {
    const server = await serve((_req, res) => res.end('{}'));
    const { fetch } = createOutboundHttp({ allowPrivateNetwork: false });
    const error = await fetch(server.url.replace('http:', 'https:'), {
      headers: { Authorization: `Bearer ${CANARY_TOKEN}` },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeUrlError);
    expectNoSecrets(error);
    expect(server.hits).toEqual([]);
  });

  test('an aborted signal rejects the fetch with the signal reason', async () => {
    const server = await serve(() => undefined);
    const { fetch } = createOutboundHttp({ allowPrivateNetwork: true });
    const controller = new AbortController();
    const pending = fetch(server.url, { signal: controller.signal });
    controller.abort(new Error('stopped by test'));
    await expect(pending).rejects.toThrow('stopped by test');
  });
});
