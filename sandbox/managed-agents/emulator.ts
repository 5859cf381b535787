import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BetaManagedAgentsAgent } from '@anthropic-ai/sdk/resources/beta/agents/agents';
import type { BetaEnvironment } from '@anthropic-ai/sdk/resources/beta/environments/environments';
import type { BetaManagedAgentsMemoryStore } from '@anthropic-ai/sdk/resources/beta/memory-stores/memory-stores';
import type { BetaManagedAgentsSessionEvent } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import type { BetaManagedAgentsSession } from '@anthropic-ai/sdk/resources/beta/sessions/sessions';
import type { BetaManagedAgentsCredential } from '@anthropic-ai/sdk/resources/beta/vaults/credentials';
import type { BetaManagedAgentsVault } from '@anthropic-ai/sdk/resources/beta/vaults/vaults';
import type { BetaWebhookEvent } from '@anthropic-ai/sdk/resources/beta/webhooks';
import { type Clock, systemClock } from '../../src/clock.js';
import { BodyTooLargeError, type ListeningServer, readBody } from '../../src/http.js';
import { type IdSource, opaqueToken, randomIds } from '../../src/ids.js';
import { listenOnLoopback, sendJson } from '../http.js';
import { registerAgentRoutes } from './agents.js';
import { registerCredentialRoutes } from './credentials.js';
import { registerEnvironmentRoutes } from './environments.js';
import { ApiError, badRequest, errorTypeFor, notFound } from './errors.js';
import { registerEventRoutes } from './events.js';
import { McpGateway } from './mcp-gateway.js';
import { registerMemoryStoreRoutes } from './memory-stores.js';
import { Query } from './query.js';
import { RESPONDED, Router } from './router.js';
import { type AutoJudge, annotationJudge } from './runtime.js';
import { type AgentScript, defaultAgentScript } from './script.js';
import { registerSessionRoutes, sessionView } from './sessions.js';
import { registerSkillRoutes } from './skills.js';
import { type CredentialSecrets, EmulatorState, type ValidationStatus } from './store.js';
import { registerVaultRoutes } from './vaults.js';
import { type SignedWebhook, signWebhook, WebhookSender } from './webhooks.js';

export const MANAGED_AGENTS_BETA = 'managed-agents-2026-04-01';

export interface ManagedAgentsEmulatorOptions {
  /** The key clients must send (`Authorization: Bearer` or `x-api-key`); random by default. */
  apiKey?: string;
  clock?: Clock;
  ids?: IdSource;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The fetch used to reach MCP servers and OAuth token endpoints (default: global fetch). */
  mcpFetch?: typeof fetch;
  /** How the agent behaves; `defaultAgentScript` unless given. */
  script?: AgentScript;
  /** Interval of SSE `ping` heartbeats (default 15 s). */
  heartbeatMs?: number;
}

/**
 * A failure to inject: the next matching request(s) fail. By default with an error status, which
 * the SDK retries as it retries the real API's (429, 5xx and 529 say `x-should-retry: true`, as the
 * API does). `drop` closes the connection without an answer; `hang` gives no answer until released
 * (the client's timeout, or a process frozen mid-call). With `afterHandling`, the request is carried
 * out first and only the answer is lost: the case idempotent clients must survive.
 */
export interface InjectedFault {
  method?: string;
  /** The path from `/v1/…` on; a string matches exactly. */
  path: string | RegExp;
  /** The error status (default 500); ignored with `drop` or `hang`. */
  status?: number;
  message?: string;
  /** How many requests fail (default 1). */
  times?: number;
  afterHandling?: boolean;
  drop?: boolean;
  hang?: boolean;
  /** Extra response headers, e.g. `retry-after` on a 429. */
  headers?: Record<string, string>;
}

/** What an injected fault lets a test wait on and control. */
export interface FaultHandle {
  /** Resolves when a request first met the fault (after it was carried out, with `afterHandling`). */
  readonly reached: Promise<void>;
  /** Answers the requests a `hang` holds, with the fault's status (or drops them, with `drop`). */
  release(): void;
  /** The API works again: requests still to come no longer fail. */
  clear(): void;
}

/**
 * Named points where the API can fail, as the product calls it: each is a method and path.
 * `failAt('session.create', { afterHandling: true, drop: true })` commits a session and loses the answer.
 */
export const FAIL_POINTS = {
  'vault.create': { method: 'POST', path: /^\/v1\/vaults$/ },
  'credential.create': { method: 'POST', path: /^\/v1\/vaults\/[^/]+\/credentials$/ },
  'agent.create': { method: 'POST', path: /^\/v1\/agents$/ },
  'agent.update': { method: 'POST', path: /^\/v1\/agents\/[^/]+$/ },
  'session.create': { method: 'POST', path: /^\/v1\/sessions$/ },
  'session.events.send': { method: 'POST', path: /^\/v1\/sessions\/[^/]+\/events$/ },
  'session.events.list': { method: 'GET', path: /^\/v1\/sessions\/[^/]+\/events$/ },
} as const satisfies Record<string, { method: string; path: RegExp }>;
export type FailPoint = keyof typeof FAIL_POINTS;

interface ArmedFault extends InjectedFault {
  times: number;
  reached(): void;
  held: Array<() => void>;
  released: boolean;
}

/** One request as the emulator received it, for tests to assert what a client sent. */
export interface RecordedRequest {
  method: string;
  /** The path from `/v1/…` on, without query string (a baseURL prefix is dropped). */
  path: string;
  query: Record<string, string | string[]>;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
  /** Request headers, lower-cased; the API key headers are left out. */
  headers: Record<string, string>;
  /** The response status, once answered. */
  status?: number;
  /** Clock time (ms) when it arrived. */
  at: number;
}

/**
 * A local Claude Managed Agents API (beta `managed-agents-2026-04-01`): vaults and credentials,
 * agents, environments, sessions and their events over JSON and SSE, and a scripted agent that
 * really calls MCP servers with the bound vault's credentials under the agent's permission
 * policies. Point `@anthropic-ai/sdk` at it with `baseURL: emulator.url, apiKey: emulator.apiKey`.
 */
export class ManagedAgentsEmulator {
  private readonly recorded: RecordedRequest[] = [];
  private readonly faults: ArmedFault[] = [];
  private currentScript: AgentScript;
  private webhooks: WebhookSender | undefined;
  /** How the `auto` permission policy judges each call; assign to script it (see AutoJudge). */
  autoJudge: AutoJudge = annotationJudge;

  private constructor(
    private readonly server: ListeningServer,
    private readonly state: EmulatorState,
    private readonly router: Router,
    readonly apiKey: string,
    script: AgentScript,
  ) {
    this.currentScript = script;
  }

  static async start(options: ManagedAgentsEmulatorOptions = {}): Promise<ManagedAgentsEmulator> {
    const state = new EmulatorState(options.clock ?? systemClock, options.ids ?? randomIds);
    const router = new Router();
    let emulator: ManagedAgentsEmulator | undefined;
    const deps = {
      state,
      gateway: new McpGateway(state, options.mcpFetch),
      script: () => emulator?.script ?? defaultAgentScript,
      judge: () => emulator?.autoJudge ?? annotationJudge,
    };
    registerVaultRoutes(router, state);
    registerCredentialRoutes(router, state);
    registerAgentRoutes(router, state);
    registerEnvironmentRoutes(router, state);
    registerSessionRoutes(router, state, deps);
    registerMemoryStoreRoutes(router, state);
    registerSkillRoutes(router, state);
    registerEventRoutes(router, state, options.heartbeatMs ?? 15_000);
    const server = await listenOnLoopback(async (req, res) => {
      if (emulator) await emulator.handle(req, res);
    }, options.port);
    emulator = new ManagedAgentsEmulator(
      server,
      state,
      router,
      options.apiKey ?? `sk-ant-emulator-${opaqueToken(18)}`,
      options.script ?? defaultAgentScript,
    );
    return emulator;
  }

  /** The base URL for the SDK (`http://127.0.0.1:PORT`). */
  get url(): string {
    return this.server.url;
  }

  /** The agent's behaviour; assign to change it for the following turns. */
  get script(): AgentScript {
    return this.currentScript;
  }

  set script(script: AgentScript) {
    this.currentScript = script;
  }

  async close(): Promise<void> {
    this.webhooks?.close();
    for (const session of this.state.sessions.values()) {
      session.runner.stop();
      session.log.closeSubscribers();
    }
    await this.server.close();
  }

  /** Makes the next matching request(s) fail; see InjectedFault. */
  injectFault(fault: InjectedFault): FaultHandle {
    let reached = () => {};
    const armed: ArmedFault = {
      ...fault,
      times: fault.times ?? 1,
      reached: () => reached(),
      held: [],
      released: false,
    };
    const whenReached = new Promise<void>((resolve) => {
      reached = resolve;
    });
    this.faults.push(armed);
    return {
      reached: whenReached,
      release: () => {
        armed.released = true;
        for (const answer of armed.held.splice(0)) answer();
      },
      clear: () => {
        const index = this.faults.indexOf(armed);
        if (index >= 0) this.faults.splice(index, 1);
      },
    };
  }

  /** Makes the next request(s) at a named point fail; see FAIL_POINTS and InjectedFault. */
  failAt(point: FailPoint, fault: Omit<InjectedFault, 'method' | 'path'> = {}): FaultHandle {
    return this.injectFault({ ...FAIL_POINTS[point], ...fault });
  }

  // ── Inspection (in-process only; nothing here is reachable over HTTP) ──

  /** Every request received, oldest first. */
  get requests(): readonly RecordedRequest[] {
    return this.recorded;
  }

  clearRequests(): void {
    this.recorded.length = 0;
  }

  vaultCount(options: { includeArchived?: boolean } = {}): number {
    return this.vaults(options).length;
  }

  vaults(options: { includeArchived?: boolean } = {}): BetaManagedAgentsVault[] {
    return [...this.state.vaults.values()]
      .filter((v) => options.includeArchived || !v.value.archived_at)
      .map((v) => structuredClone(v.value));
  }

  /** Credentials as the API shows them (no secrets), of one vault or of all. */
  credentials(vaultId?: string): BetaManagedAgentsCredential[] {
    return [...this.state.credentials.values()]
      .filter((c) => vaultId === undefined || c.value.vault_id === vaultId)
      .map((c) => structuredClone(c.value));
  }

  /**
   * The secrets stored with a credential (empty once archived), so a test can check that a
   * token reached the vault. The HTTP API never returns these.
   */
  credentialSecrets(credentialId: string): CredentialSecrets | undefined {
    const record = this.state.credentials.get(credentialId);
    return record && { ...record.secrets };
  }

  /** Forces what `mcp_oauth_validate` reports for a credential; `undefined` restores the computed status. */
  setCredentialValidation(credentialId: string, status: ValidationStatus | undefined): void {
    if (status === undefined) this.state.forcedValidation.delete(credentialId);
    else this.state.forcedValidation.set(credentialId, status);
  }

  /** The latest version of each agent. */
  agents(): BetaManagedAgentsAgent[] {
    return [...this.state.agents.values()].map((a) => structuredClone(this.state.latestAgent(a)));
  }

  /** Every memory store, archived ones too. */
  memoryStores(): BetaManagedAgentsMemoryStore[] {
    return [...this.state.memoryStores.values()].map((m) => structuredClone(m.value));
  }

  environments(): BetaEnvironment[] {
    return [...this.state.environments.values()].map((e) => structuredClone(e.value));
  }

  sessions(): BetaManagedAgentsSession[] {
    return [...this.state.sessions.values()].map((s) => sessionView(this.state, s));
  }

  session(sessionId: string): BetaManagedAgentsSession | undefined {
    const record = this.state.sessions.get(sessionId);
    return record && sessionView(this.state, record);
  }

  /** A session's event history, as `events.list` would return it in ascending order. */
  events(sessionId: string): BetaManagedAgentsSessionEvent[] {
    const record = this.state.sessions.get(sessionId);
    if (!record) return [];
    return record.log
      .history()
      .map((e) => structuredClone(e.event) as unknown as BetaManagedAgentsSessionEvent);
  }

  /**
   * Resolves when the session's agent waits only on the user: idle with nothing queued, or
   * paused for a tool confirmation. Lets a test wait without polling or timers.
   */
  settled(sessionId: string): Promise<void> {
    const record = this.state.sessions.get(sessionId);
    return record ? record.runner.settled() : Promise.resolve();
  }

  /** Event streams open now, across every session (what a relay holds while it waits). */
  openStreams(): number {
    let open = 0;
    for (const record of this.state.sessions.values()) open += record.log.streams;
    return open;
  }

  /** Ends a session as the platform would: `session.status_terminated`, then streams close. */
  terminateSession(sessionId: string): void {
    const record = this.state.session(sessionId);
    if (record.value.status === 'terminated') return;
    record.runner.stop();
    record.log.append({ type: 'session.status_terminated' });
    record.value.status = 'terminated';
    record.value.updated_at = this.state.now();
    record.log.closeSubscribers();
  }

  /**
   * Registers a webhook endpoint, as an admin does in the Console: every session status change is
   * delivered there, signed with `secret`, from now on (undefined: none any more).
   */
  deliverWebhooksTo(target: { url: string; secret: string } | undefined): WebhookSender | undefined {
    this.webhooks?.close();
    this.webhooks = target
      ? new WebhookSender(target, {
          clock: this.state.clock,
          envelope: (type, resourceId) => this.webhookEvent(type, resourceId),
        })
      : undefined;
    const sender = this.webhooks;
    this.state.onSessionEvent = sender
      ? (sessionId, type) => sender.statusChanged(sessionId, type)
      : undefined;
    return sender;
  }

  /** Resolves once every webhook sent so far was answered (or given up on). */
  webhooksSettled(): Promise<void> {
    return this.webhooks?.settled() ?? Promise.resolve();
  }

  /** A thin webhook envelope as Anthropic sends it (`{type:'event', id:'event_…', data:{type, id, …}}`). */
  webhookEvent(type: string, resourceId: string, extra: Record<string, string> = {}): BetaWebhookEvent {
    return {
      type: 'event',
      id: this.state.ids.next('event'),
      created_at: this.state.now(),
      data: {
        type,
        id: resourceId,
        organization_id: 'org_emulator',
        workspace_id: 'wrkspc_emulator',
        ...extra,
      } as unknown as BetaWebhookEvent['data'],
    };
  }

  /** Signs a webhook body with a `whsec_…` secret (Standard Webhooks, as Anthropic does). */
  signWebhook(
    payload: string | object,
    secret: string,
    options: { id?: string; timestampSeconds?: number } = {},
  ): SignedWebhook {
    const payloadId =
      typeof payload === 'object' && payload !== null && 'id' in payload ? String(payload.id) : undefined;
    return signWebhook(payload, secret, {
      id: options.id ?? payloadId ?? this.state.ids.next('msg'),
      timestampSeconds: options.timestampSeconds ?? Math.floor(this.state.clock.now() / 1000),
    });
  }

  // ── HTTP ──

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Request ids come from their own source, so an injected IdSource only numbers resources.
    const requestId = randomIds.next('req');
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = withoutPrefix(url.pathname);
    const method = (req.method ?? 'GET').toUpperCase();
    const recorded: RecordedRequest = {
      method,
      path,
      query: queryRecord(url.searchParams),
      body: undefined,
      headers: recordableHeaders(req),
      at: this.state.clock.now(),
    };
    this.recorded.push(recorded);
    try {
      const bytes = await readBody(req);
      const multipart = String(req.headers['content-type'] ?? '').startsWith('multipart/form-data');
      const raw = multipart ? '' : bytes.toString('utf8');
      recorded.body = parseJsonOrUndefined(raw);
      this.authenticate(req);
      requireBeta(req, path);
      // Skills are uploaded as multipart forms: their parts go to the handler as a FormData.
      const body = multipart ? await formOf(req, bytes) : raw.trim() === '' ? undefined : parseJson(raw);
      const route = this.router.match(method, path);
      if (!route) throw notFound(`No such endpoint: ${method} ${path}`);
      const fault = this.takeFault(method, path);
      if (fault && !fault.afterHandling) await this.fail(fault, res);
      const result = await route.handler({
        params: route.params,
        query: new Query(url.searchParams),
        body,
        req,
        res,
      });
      if (result === RESPONDED) return;
      if (fault) await this.fail(fault, res);
      sendJson(res, 200, result, { 'request-id': requestId });
    } catch (error) {
      if (error === DROPPED) return;
      const apiError = toApiError(error);
      if (!res.headersSent) {
        sendJson(res, apiError.status, apiError.envelope(requestId), {
          'request-id': requestId,
          ...apiError.headers(),
        });
      } else {
        res.end();
      }
    } finally {
      recorded.status = res.statusCode;
    }
  }

  private takeFault(method: string, path: string): ArmedFault | undefined {
    const index = this.faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (typeof f.path === 'string' ? f.path === path : f.path.test(path)),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.faults.splice(index, 1);
    return fault;
  }

  /** Fails a request as the fault says: an error thrown, or the connection dropped (after a hang). */
  private async fail(fault: ArmedFault, res: ServerResponse): Promise<never> {
    fault.reached();
    if (fault.hang && !fault.released) await new Promise<void>((answer) => fault.held.push(answer));
    if (fault.drop) {
      res.destroy();
      throw DROPPED;
    }
    throw faultError(fault);
  }

  private authenticate(req: IncomingMessage): void {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const apiKey = req.headers['x-api-key'];
    if (bearer === this.apiKey || apiKey === this.apiKey) return;
    throw new ApiError(
      401,
      'authentication_error',
      bearer || apiKey ? 'invalid x-api-key' : 'x-api-key or Authorization header is required',
    );
  }
}

/** Memory stores answer to their own beta as well (what the SDK sends for them). */
const MEMORY_BETA = 'agent-memory-2026-07-22';
/** The Skills API is its own beta: the SDK sends none of its own, so callers must name it. */
export const SKILLS_BETA = 'skills-2025-10-02';

function requireBeta(req: IncomingMessage, path: string): void {
  const header = req.headers['anthropic-beta'];
  const betas = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((b) => b.trim());
  if (path.startsWith('/v1/skills')) {
    if (betas.includes(SKILLS_BETA)) return;
    throw badRequest(`This endpoint requires the beta header "anthropic-beta: ${SKILLS_BETA}"`);
  }
  if (betas.includes(MANAGED_AGENTS_BETA)) return;
  if (path.startsWith('/v1/memory_stores') && betas.includes(MEMORY_BETA)) return;
  throw badRequest(`This endpoint requires the beta header "anthropic-beta: ${MANAGED_AGENTS_BETA}"`);
}

/** A multipart body as the web platform parses it. */
async function formOf(req: IncomingMessage, bytes: Buffer): Promise<FormData> {
  try {
    return await new Response(bytes, {
      headers: { 'content-type': String(req.headers['content-type']) },
    }).formData();
  } catch {
    throw badRequest('The multipart body could not be read');
  }
}

/** Keeps any baseURL path prefix out of routing: `/prefix/v1/vaults` → `/v1/vaults`. */
function withoutPrefix(pathname: string): string {
  const at = pathname.indexOf('/v1/');
  return at > 0 ? pathname.slice(at) : pathname;
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    record[key] = key.endsWith('[]') || values.length > 1 ? values : (values[0] ?? '');
  }
  return record;
}

function recordableHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization' || name === 'x-api-key' || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw badRequest('The request body is not valid JSON');
  }
}

function parseJsonOrUndefined(raw: string): unknown {
  try {
    return raw.trim() === '' ? undefined : JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Thrown once a fault has dropped the connection: there is nothing left to answer. */
const DROPPED = Symbol('dropped');

function faultError(fault: InjectedFault): ApiError {
  const status = fault.status ?? 500;
  const message = fault.message ?? `Injected failure (${status})`;
  // The API marks what is worth retrying; the SDK honours it over its own rules.
  const retryable = status === 429 || status >= 500;
  return new ApiError(status, errorTypeFor(status), message, undefined, {
    ...(retryable ? { 'x-should-retry': 'true' } : {}),
    ...fault.headers,
  });
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof BodyTooLargeError) return new ApiError(413, 'request_too_large', error.message);
  process.emitWarning(
    `managed-agents emulator: handler failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
  );
  return new ApiError(500, 'api_error', 'Internal server error');
}
