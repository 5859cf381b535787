import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, systemClock } from '../../src/clock.js';
import { type ListeningServer, mediaType, readBody } from '../../src/http.js';
import { type IdSource, randomBase58, randomIds } from '../../src/ids.js';
import { listenOnLoopback, sendJson } from '../http.js';
import { CallLog, type RecordedCall } from './call-log.js';
import { SlackApiError } from './errors.js';
import { FaultQueue, type InjectedFailure } from './faults.js';
import { appManifest } from './manifest.js';
import { type SlackOidc, SlackOidcProvider } from './oidc.js';
import { RateTiers } from './rate-tiers.js';
import { parseApiRequest } from './request.js';
import { type ResponseUrlContext, type ResponseUrlEntry, ResponseUrlRegistry } from './response-urls.js';
import { type TriggerContext, TriggerRegistry } from './triggers.js';
import { bool, METHOD_SCOPES, str, webApiMethods } from './web-api.js';
import {
  DEFAULT_TEAM_ID,
  defaultSlackChannels,
  defaultSlackUserGroups,
  defaultSlackUsers,
  duplicateActionId,
  isRecord,
  type SlackChannel,
  type SlackMessage,
  type SlackUser,
  type SlackUserGroup,
  type SlackView,
  SlackWorkspace,
  withBlockIds,
} from './workspace.js';

export type { RecordedCall } from './call-log.js';

/** Extra routes served on the emulator's origin: the browser workspace (src/sandbox/workspace). */
export interface WebClientRoutes {
  /** True when it answered the request. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}
export type { InjectedFailure } from './faults.js';
export type { SlackOidc } from './oidc.js';

export interface SlackEmulatorOptions {
  port?: number;
  clock?: Clock;
  ids?: IdSource;
  teamId?: string;
  teamName?: string;
  teamDomain?: string;
  enterpriseId?: string;
  enterpriseName?: string;
  appId?: string;
  botToken?: string;
  botUserId?: string;
  botId?: string;
  botName?: string;
  /** The legacy verification token Slack puts in payloads' `token` field. */
  verificationToken?: string;
  /** Scopes reported in `x-oauth-scopes`. */
  scopes?: string[];
  users?: SlackUser[];
  channels?: SlackChannel[];
  /** User groups (usergroups.*); by default @approvers (`S_APPROVERS`) holding the admins: Ada. */
  userGroups?: SlackUserGroup[];
  /** Sign in with Slack: the app's client id (random by default). */
  oidcClientId?: string;
  /** Sign in with Slack: the app's client secret (random by default). */
  oidcClientSecret?: string;
  /** Sign in with Slack redirect URIs, matched exactly; without any, every http(s) URI is accepted. */
  oidcRedirectUris?: string[];
  /** Slack's rate tiers multiplied by this (default 1: Slack's own; see RateTiers). */
  rateTierScale?: number;
}

/** The bot scopes the app's manifest asks for: what an installed Deputy's token carries. */
const DEFAULT_SCOPES = appManifest().botScopes;

/**
 * The Slack Web API and workspace on loopback, faithful enough that `@slack/web-api`'s WebClient and
 * Bolt's `respond()` cannot tell it from Slack on the paths Deputy uses. Every request is recorded.
 */
export class SlackEmulator {
  readonly clock: Clock;
  readonly workspace: SlackWorkspace;
  readonly botToken: string;
  readonly verificationToken: string;
  private readonly log = new CallLog();
  private readonly faults = new FaultQueue();
  private readonly rateTiers: RateTiers;
  private readonly holds = new FaultQueue<() => Promise<unknown>>();
  private readonly triggers: TriggerRegistry;
  private readonly responseUrls: ResponseUrlRegistry;
  private readonly scopes: string[];
  private readonly oidcProvider: SlackOidcProvider;
  private loopback?: ListeningServer;
  private webClient?: WebClientRoutes;

  static async start(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
    const emulator = new SlackEmulator(options);
    emulator.loopback = await listenOnLoopback((req, res) => emulator.handle(req, res), options.port ?? 0);
    return emulator;
  }

  private constructor(options: SlackEmulatorOptions) {
    this.clock = options.clock ?? systemClock;
    const teamId = options.teamId ?? DEFAULT_TEAM_ID;
    const botUserId = options.botUserId ?? 'U_DEPUTY';
    const users = options.users ?? defaultSlackUsers(teamId, options.enterpriseId);
    this.workspace = new SlackWorkspace({
      clock: this.clock,
      ids: options.ids ?? randomIds,
      teamId,
      teamName: options.teamName ?? 'Deputy Sandbox',
      teamDomain: options.teamDomain ?? 'deputy-sandbox',
      ...(options.enterpriseId ? { enterpriseId: options.enterpriseId } : {}),
      ...(options.enterpriseName ? { enterpriseName: options.enterpriseName } : {}),
      appId: options.appId ?? 'A_DEPUTY',
      botUserId,
      botId: options.botId ?? 'B_DEPUTY',
      botName: options.botName ?? 'deputy',
      users,
      channels: options.channels ?? defaultSlackChannels(users, botUserId),
      userGroups: options.userGroups ?? defaultSlackUserGroups(users),
    });
    this.botToken = options.botToken ?? `xoxb-${randomBase58(12)}-${randomBase58(24)}`;
    this.verificationToken = options.verificationToken ?? randomBase58(24);
    this.scopes = options.scopes ?? DEFAULT_SCOPES;
    this.triggers = new TriggerRegistry(this.clock);
    this.rateTiers = new RateTiers(this.clock, options.rateTierScale ?? 1);
    this.responseUrls = new ResponseUrlRegistry(this.clock);
    this.oidcProvider = new SlackOidcProvider({
      clock: this.clock,
      workspace: this.workspace,
      log: this.log,
      faults: this.faults,
      baseUrl: () => this.url,
      botToken: this.botToken,
      ...(options.oidcClientId ? { clientId: options.oidcClientId } : {}),
      ...(options.oidcClientSecret ? { clientSecret: options.oidcClientSecret } : {}),
      ...(options.oidcRedirectUris ? { redirectUris: options.oidcRedirectUris } : {}),
    });
  }

  /** `http://127.0.0.1:PORT`, no trailing slash. */
  get url(): string {
    if (!this.loopback) throw new Error('SlackEmulator is not listening; use SlackEmulator.start()');
    return this.loopback.url;
  }

  /** Pass as WebClient/Bolt `slackApiUrl` (the trailing slash matters). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /**
   * Sign in with Slack (OpenID Connect) on this emulator: `issuer` is `url`, what
   * `SLACK_OIDC_ISSUER` points at. Codes expire by the emulator's clock; id_tokens carry real time.
   */
  get oidc(): SlackOidc {
    return this.oidcProvider;
  }

  get teamId(): string {
    return this.workspace.config.teamId;
  }
  get teamName(): string {
    return this.workspace.config.teamName;
  }
  get teamDomain(): string {
    return this.workspace.config.teamDomain;
  }
  get enterpriseId(): string | undefined {
    return this.workspace.config.enterpriseId;
  }
  get enterpriseName(): string | undefined {
    return this.workspace.config.enterpriseName ?? this.workspace.config.enterpriseId;
  }
  get appId(): string {
    return this.workspace.config.appId;
  }
  get botUserId(): string {
    return this.workspace.config.botUserId;
  }
  get botId(): string {
    return this.workspace.config.botId;
  }

  // ---- people and conversations

  get users(): SlackUser[] {
    return this.workspace.users;
  }

  user(id: string): SlackUser {
    const user = this.workspace.findUser(id);
    if (!user)
      throw new Error(`Slack emulator: no user ${id} (known: ${this.users.map((u) => u.id).join(', ')})`);
    return user;
  }

  addUser(user: SlackUser): void {
    this.workspace.addUser(user);
  }

  /** A new person (not an admin) who joined the workspace, and so #general. */
  addMember(userId: string): void {
    this.addUser({
      id: userId,
      teamId: this.teamId,
      name: userId.toLowerCase(),
      realName: userId,
      isAdmin: false,
      isOwner: false,
    });
    this.channel('general').members.push(userId);
  }

  get channels(): SlackChannel[] {
    return this.workspace.channels.filter((c) => !c.isIm);
  }

  channel(idOrName: string): SlackChannel {
    const channel = this.workspace.findChannel(idOrName);
    if (!channel) throw new Error(`Slack emulator: no channel ${idOrName}`);
    return channel;
  }

  addChannel(channel: SlackChannel): void {
    this.workspace.addChannel(channel);
  }

  get userGroups(): SlackUserGroup[] {
    return this.workspace.userGroups;
  }

  /** The live group: changing its `users` changes what usergroups.* answer. */
  userGroup(id: string): SlackUserGroup {
    const group = this.workspace.findUserGroup(id);
    if (!group) {
      const known = this.userGroups.map((g) => g.id).join(', ');
      throw new Error(`Slack emulator: no user group ${id} (known: ${known})`);
    }
    return group;
  }

  /** Adds a user group (id `S…`, handle unique), or replaces the one with that id. */
  addUserGroup(group: SlackUserGroup): void {
    this.workspace.addUserGroup(group);
  }

  /** The app↔user DM id (what conversations.open answers), opened if need be. */
  dmChannelId(userId: string): string {
    this.user(userId);
    return this.workspace.openDm(userId).id;
  }

  // ---- what the app did

  messages(channelId: string): readonly SlackMessage[] {
    return this.workspace.messages(channelId);
  }

  ephemerals(userId: string): readonly SlackMessage[] {
    return this.workspace.ephemerals(userId);
  }

  openViews(userId?: string): readonly SlackView[] {
    return this.workspace.openViews(userId);
  }

  homeView(userId: string): SlackView | undefined {
    return this.workspace.homeView(userId);
  }

  view(viewId: string): SlackView | undefined {
    return this.workspace.view(viewId);
  }

  get calls(): RecordedCall[] {
    return this.log.calls;
  }

  callsTo(method: string): RecordedCall[] {
    return this.log.callsTo(method);
  }

  /** The first matching call already made or still to come; rejects after `timeoutMs` (default 5 s). */
  waitFor(
    method: string,
    predicate?: (c: RecordedCall) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedCall> {
    return this.log.waitFor(method, predicate, timeoutMs);
  }

  /**
   * Answers the next `times` (default 1) calls to `method` (or `response_url`) with a failure:
   * `ratelimited` is HTTP 429 with Retry-After; other Web API errors are 200 `{ok:false,error}`.
   */
  injectError(method: string, failure: InjectedFailure, times = 1): void {
    this.faults.inject(method, failure, times);
  }

  /**
   * Holds each of the next `times` calls to `method` (or `response_url`) until what `wait` returns
   * (called as the call arrives) settles, then answers it as usual: a Slack that is slow to answer.
   * Held calls are recorded when they are answered.
   */
  hold(method: string, wait: () => Promise<unknown>, times = 1): void {
    this.holds.inject(method, wait, times);
  }

  /**
   * A slash command's text as Slack sends it for a command with `should_escape: true` (Deputy's
   * manifest): `@name` of a member becomes `<@U…|name>` and `#name` of a channel `<#C…|name>`.
   */
  escapeCommandText(text: string): string {
    return text
      .replace(/(^|\s)@([a-z0-9._-]+)/g, (whole, before: string, name: string) => {
        const user = this.users.find((u) => u.name === name);
        return user ? `${before}<@${user.id}|${name}>` : whole;
      })
      .replace(/(^|\s)#([a-z0-9_-]+)/g, (whole, before: string, name: string) => {
        const channel = this.channels.find((c) => c.name === name);
        return channel ? `${before}<#${channel.id}|${name}>` : whole;
      });
  }

  // ---- interactions

  /** A response_url as Slack hands one out: 30 minutes, at most 5 posts. */
  newResponseUrl(context: ResponseUrlContext = {}): string {
    return `${this.url}/response/${this.responseUrls.issue(context).id}`;
  }

  expireResponseUrl(url: string): void {
    this.responseUrls.expire(responseUrlId(url));
  }

  /** A trigger_id: single use, three seconds by the clock. `userId` is whose modal views.open opens. */
  newTriggerId(context: TriggerContext = {}): string {
    return this.triggers.issue(context);
  }

  /**
   * What Slack does with the body of a slash command's acknowledgement: a non-empty one is shown
   * like a response_url post (ephemeral by default), without using one of the URL's five posts.
   */
  deliverCommandAck(responseUrl: string, body: unknown): void {
    const entry = this.responseUrls.get(responseUrlId(responseUrl));
    if (!entry) return;
    const message = typeof body === 'string' ? { text: body } : body;
    if (!isRecord(message) || !hasContent(message)) return;
    this.applyResponse(entry, message, 'ack');
  }

  /** What Slack does with a view_submission acknowledgement (`response_action` or none). */
  applyViewSubmissionAck(userId: string, viewId: string, body: unknown): void {
    const ack = isRecord(body) ? body : {};
    const action = ack.response_action;
    const ws = this.workspace;
    const current = ws.view(viewId);
    if (action === 'errors') return;
    if (action === 'clear') ws.clearModals(userId);
    else if (action === 'update' && current && isRecord(ack.view))
      ws.saveView(ws.buildView(ack.view, userId, current));
    else if (action === 'push' && isRecord(ack.view)) ws.pushModal(userId, ws.buildView(ack.view, userId));
    else ws.closeModal(userId, viewId);
  }

  /** Records a person's message, as typing it in Slack would (for `message` events). */
  postAsUser(userId: string, channelId: string, text: string, threadTs?: string): SlackMessage {
    this.user(userId);
    return this.workspace.userMessage(channelId, userId, text, threadTs);
  }

  /**
   * Clears calls and injected errors; with `{ state: true }` also messages, views, DMs, URLs,
   * triggers and Sign in with Slack sessions, codes and tokens.
   */
  reset(options: { state?: boolean } = {}): void {
    this.log.clear();
    this.faults.clear();
    this.holds.clear();
    if (options.state) {
      this.workspace.resetState();
      this.responseUrls.clear();
      this.triggers.clear();
      this.oidcProvider.resetState();
      this.rateTiers.clear();
    }
  }

  /**
   * Slack's rate tiers multiplied by `scale` from now on (1: Slack's own), for a load run that sets
   * the scene quickly and then measures against the real limits. Counting starts afresh, as if a
   * minute had passed.
   */
  setRateTierScale(scale: number): void {
    this.rateTiers.scale = scale;
    this.rateTiers.clear();
  }

  async close(): Promise<void> {
    this.log.rejectAll('Slack emulator closed');
    await this.loopback?.close();
  }

  /**
   * Serves Slack's own web client on this origin, as app.slack.com and Sign in with Slack share a
   * browser session: the workspace page signs people in here for the OIDC step.
   */
  serveWebClient(routes: WebClientRoutes): void {
    this.webClient = routes;
  }

  // ---- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (await this.oidcProvider.handle(req, res, url)) return;
    if (this.webClient && (await this.webClient.handle(req, res, url))) return;
    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (api?.[1] && (req.method === 'POST' || req.method === 'GET')) {
      return this.handleApi(api[1], req, res, url);
    }
    const response = /^\/response\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (response?.[1] && req.method === 'POST') return this.handleResponseUrl(response[1], req, res);
    const upload = /^\/upload\/v1\/([a-f0-9]+)$/.exec(url.pathname);
    if (upload?.[1] && req.method === 'POST') return this.handleUpload(upload[1], req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not_found');
  }

  private async handleApi(
    method: string,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    const parsed = parseApiRequest(req, raw, url, mediaType(req));
    const call = (status: number, response: Record<string, unknown>, extra: Partial<RecordedCall> = {}) => {
      this.log.record({
        method,
        ...(parsed.token ? { token: parsed.token } : {}),
        body: parsed.args,
        at: this.clock.now(),
        status,
        response,
        ...extra,
      });
    };
    const headers: Record<string, string> = {
      'x-slack-req-id': randomBytes(16).toString('hex'),
      'x-oauth-scopes': this.scopes.join(','),
    };

    await this.holds
      .take(method)?.()
      .catch(() => undefined);
    const fault = this.faults.take(method, parsed.args);
    if (fault) {
      const status = fault.httpStatus ?? (fault.error === 'ratelimited' ? 429 : 200);
      const retryAfter = fault.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
      if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
      const body = { ok: false, error: fault.error };
      call(status, body, { injected: true });
      return sendJson(res, status, body, headers);
    }

    // Slack counts an app's calls per method per workspace; over its tier, the call is refused with 429.
    if (webApiMethods[method] && parsed.token === this.botToken) {
      const limited = this.rateTiers.take(method, str(parsed.args.channel));
      if (limited) {
        headers['retry-after'] = String(limited.retryAfterSeconds);
        const refused = { ok: false, error: 'ratelimited' };
        call(429, refused);
        return sendJson(res, 429, refused, headers);
      }
    }

    let body: Record<string, unknown>;
    const handler = webApiMethods[method];
    if (parsed.error) body = { ok: false, error: parsed.error };
    else if (!handler) body = { ok: false, error: 'unknown_method', req_method: method };
    else if (!parsed.token) body = { ok: false, error: 'not_authed' };
    else if (parsed.token !== this.botToken) body = { ok: false, error: 'invalid_auth' };
    else if (!this.covers(method))
      body = {
        ok: false,
        error: 'missing_scope',
        needed: (METHOD_SCOPES[method] ?? []).join(','),
        provided: this.scopes.join(','),
      };
    else {
      try {
        body = {
          ok: true,
          ...handler(
            {
              workspace: this.workspace,
              triggers: this.triggers,
              scopes: this.scopes,
              uploadUrl: (token) => `${this.url}/upload/v1/${token}`,
            },
            parsed.args,
          ),
        };
      } catch (error) {
        if (!(error instanceof SlackApiError)) throw error;
        body = { ok: false, error: error.error, ...error.extra };
      }
    }
    // Recorded before answering, so whoever awaits the call sees the workspace already changed.
    call(200, body);
    sendJson(res, 200, body, headers);
  }

  /** Whether the token's scopes let it call `method` (a method Slack lists no scope for always may). */
  private covers(method: string): boolean {
    const needed = METHOD_SCOPES[method];
    if (!needed || needed.length === 0) return true;
    return needed.some((scope) => this.scopes.includes(scope));
  }

  /**
   * A file's bytes, sent to the URL files.getUploadURLExternal gave: as the raw body, or as the one
   * file of a multipart form (what the Node SDK sends). Slack answers `OK - <length>`.
   */
  private async handleUpload(token: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const file = this.workspace.fileByUploadToken(token);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not_found');
      return;
    }
    let content = raw;
    if (mediaType(req) === 'multipart/form-data') {
      const form = await new Response(raw, {
        headers: { 'content-type': String(req.headers['content-type']) },
      }).formData();
      const part = [...form.values()].find((value): value is File => typeof value !== 'string');
      if (!part) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('no file in the form');
        return;
      }
      content = Buffer.from(await part.arrayBuffer());
    }
    file.content = content;
    this.log.record({
      method: 'file_upload',
      body: { file_id: file.id, length: content.length },
      at: this.clock.now(),
      status: 200,
      response: `OK - ${content.length}`,
    });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${content.length}`);
  }

  /** The text of a file the app uploaded, once its bytes arrived. */
  fileText(fileId: string): string | undefined {
    return this.workspace.file(fileId)?.content?.toString('utf8');
  }

  private async handleResponseUrl(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    const url = `${this.url}/response/${id}`;
    const message = parseResponseBody(raw, mediaType(req));
    const answer = (status: number, text: string, extra: Partial<RecordedCall> = {}, headers = {}) => {
      this.log.record({
        method: 'response_url',
        body: { ...(message ?? { raw }), url },
        at: this.clock.now(),
        status,
        response: text,
        ...extra,
      });
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(text);
    };

    await this.holds
      .take('response_url')?.()
      .catch(() => undefined);
    const fault = this.faults.take('response_url');
    if (fault) {
      const status = fault.httpStatus ?? (fault.error === 'ratelimited' ? 429 : 404);
      const retryAfter = fault.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
      return answer(
        status,
        fault.error,
        { injected: true },
        retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
      );
    }
    // Slack answers refused response_url posts in plain text, not JSON.
    const refusal = this.responseUrls.refusal(id);
    if (refusal) return answer(404, refusal);
    if (!message) return answer(400, 'invalid_payload');
    if (!hasContent(message) && !bool(message.delete_original)) return answer(400, 'no_text');
    const entry = this.responseUrls.get(id) as ResponseUrlEntry;
    if (message.blocks !== undefined && (!Array.isArray(message.blocks) || duplicateActionId(message.blocks)))
      return answer(400, 'invalid_blocks');
    entry.uses += 1;
    this.applyResponse(entry, message, 'response_url');
    answer(200, 'ok');
  }

  /** Shows a response_url post (or command ack) where Slack would. */
  private applyResponse(
    entry: ResponseUrlEntry,
    body: Record<string, unknown>,
    source: 'response_url' | 'ack',
  ): void {
    const ws = this.workspace;
    const { channelId, userId } = entry.context;
    const originalTs = entry.context.messageTs ?? entry.lastTs;
    const original = originalTs
      ? ((channelId ? ws.findMessage(channelId, originalTs) : undefined) ??
        (userId ? ws.findEphemeral(userId, originalTs) : undefined))
      : undefined;
    if (bool(body.delete_original)) {
      if (original) ws.removeMessage(original);
      return;
    }
    const text = str(body.text) ?? '';
    const blocks = Array.isArray(body.blocks) ? withBlockIds(body.blocks) : undefined;
    const attachments = Array.isArray(body.attachments) ? body.attachments : undefined;
    if (bool(body.replace_original) && original) {
      ws.editMessage(original, {
        text,
        ...(blocks ? { blocks } : {}),
        ...(attachments ? { attachments } : {}),
      });
      entry.lastTs = original.ts;
      return;
    }
    const content = { text, blocks, attachments, thread_ts: str(body.thread_ts) };
    let posted: SlackMessage | undefined;
    if (body.response_type === 'in_channel' && channelId) posted = ws.appMessage(channelId, content, source);
    else if (userId) posted = ws.ephemeral(userId, channelId ?? ws.openDm(userId).id, content, source);
    if (posted) entry.lastTs = posted.ts;
  }
}

function responseUrlId(url: string): string {
  const id = /\/response\/([A-Za-z0-9_-]+)\/?$/.exec(url)?.[1];
  if (!id) throw new Error(`Slack emulator: not a response_url of this emulator: ${url}`);
  return id;
}

function hasContent(message: Record<string, unknown>): boolean {
  return (
    (typeof message.text === 'string' && message.text.length > 0) ||
    (Array.isArray(message.blocks) && message.blocks.length > 0) ||
    (Array.isArray(message.attachments) && message.attachments.length > 0)
  );
}

/** response_url takes JSON (what respond() sends) or a form with `payload=<JSON>`. */
function parseResponseBody(raw: string, media: string): Record<string, unknown> | undefined {
  try {
    const json =
      media === 'application/x-www-form-urlencoded' ? new URLSearchParams(raw).get('payload') : raw;
    const parsed: unknown = JSON.parse(json ?? '');
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
