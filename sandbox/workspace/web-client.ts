import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { mediaType, readBody } from '../../src/http.js';
import type { Logger } from '../../src/logger.js';
import { sendHtml, sendJson } from '../http.js';
import type { SlackDriver } from '../slack/driver.js';
import type { SlackEmulator, WebClientRoutes } from '../slack/emulator.js';
import { appManifest } from '../slack/manifest.js';
import {
  findActionElement,
  isRecord,
  type SlackChannel,
  type SlackMessage,
  type SlackView,
  type ViewStateValues,
  wireView,
} from '../slack/workspace.js';
import { actionFields, holdsState, stateFromForm } from './block-kit.js';
import { pageShell } from './page.js';
import {
  APP_CONVERSATION,
  type InlineErrors,
  renderScreen,
  type Screen,
  shownConversation,
  type Viewpoint,
} from './render.js';

/**
 * The browser workspace of the sandbox, served on the Slack emulator's origin as Slack's web
 * client is: a person picks who they are (a Slack browser session, which Sign in with Slack then
 * sees), and every command, click and submission they make reaches the app as a signed request
 * sent by the emulator's driver, exactly as Slack would send it. The page updates over
 * server-sent events whenever the workspace changes.
 */

const PATHS = {
  page: '/',
  script: '/client/client.js',
  styles: '/client/client.css',
  stream: '/client/stream',
  act: '/client/act',
} as const;

const ASSETS: Record<string, { file: string; type: string }> = {
  [PATHS.script]: { file: 'client.js', type: 'text/javascript; charset=utf-8' },
  [PATHS.styles]: { file: 'client.css', type: 'text/css; charset=utf-8' },
};

/** How long a forged click's answer is waited for: Deputy replies after acknowledging. */
const FORGED_ANSWER_WAIT_MS = 3000;
const RENDER_DEBOUNCE_MS = 15;
const HEARTBEAT_MS = 15_000;

const id = z.string().min(1).max(255);
const formInput = z.object({
  blockId: z.string().max(255),
  actionId: id,
  type: z.string().min(1).max(64),
  values: z.array(z.string().max(3000)).max(100),
});
const inputs = z.array(formInput).max(200).default([]);
const surface = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), channel: id, ts: id }),
  z.object({ kind: z.literal('view'), viewId: id }),
]);
/** Who the page showed when the person acted: a tab left open as someone else must not act as the new person. */
const shownAs = { viewer: id };
const actRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('switch'), user: id }),
  z.object({
    ...shownAs,
    kind: z.literal('send'),
    conversation: id,
    thread: id.optional(),
    text: z.string().trim().min(1).max(40_000),
  }),
  z.object({
    ...shownAs,
    kind: z.literal('action'),
    surface,
    actionId: id,
    blockId: z.string().max(255),
    inputs,
    /** Sandbox only: send the click as this person instead (a forged request). */
    as: id.optional(),
  }),
  z.object({ ...shownAs, kind: z.literal('submit'), viewId: id, inputs }),
  z.object({ ...shownAs, kind: z.literal('close'), viewId: id }),
  z.object({ ...shownAs, kind: z.literal('home') }),
  /** A message shortcut used on a message (Slack's "More actions" menu). */
  z.object({ ...shownAs, kind: z.literal('shortcut'), channel: id, ts: id, callbackId: id }),
]);
type ActRequest = z.infer<typeof actRequest>;

/** A view_submission acknowledgement that keeps the modal open with errors under its inputs. */
const inlineErrors = z.object({
  response_action: z.literal('errors'),
  errors: z.record(z.string(), z.string()),
});

const viewpoint = z.object({
  c: z.string().max(64).optional(),
  tab: z.enum(['messages', 'home']).default('messages'),
  t: z.string().max(32).optional(),
});

/** What an act answers the page: a refusal to show, or a note (a forged click's outcome). */
type Outcome = { status: number; body: { ok: boolean; error?: string; notice?: string } };
const ok = (notice?: string): Outcome => ({ status: 200, body: { ok: true, ...(notice ? { notice } : {}) } });
const refuse = (error: string, status = 400): Outcome => ({ status, body: { ok: false, error } });

interface Stream {
  res: ServerResponse;
  viewer: string | undefined;
  at: Viewpoint;
  last: string;
}

export interface WorkspaceWebClientOptions {
  slack: SlackEmulator;
  /** Sends what people do to the app as Slack would (signed). */
  driver: SlackDriver;
  logger?: Logger;
}

export class WorkspaceWebClient implements WebClientRoutes {
  private readonly slack: SlackEmulator;
  private readonly driver: SlackDriver;
  private readonly logger: Logger | undefined;
  private readonly streams = new Set<Stream>();
  /** A view_submission's inline errors, shown until the view is submitted again or updated. */
  private readonly errorsByView = new Map<string, InlineErrors>();
  private readonly assets = new Map<string, Buffer>();
  /** Per person and conversation, the newest message they have seen (`viewer:channel` → ts). */
  private readonly seenUpTo = new Map<string, number>();
  private renderTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(options: WorkspaceWebClientOptions) {
    this.slack = options.slack;
    this.driver = options.driver;
    this.logger = options.logger;
    this.unsubscribe = this.slack.workspace.onChange(() => this.scheduleRender());
  }

  /** The page's address: what `npm start` prints. */
  get url(): string {
    return `${this.slack.url}${PATHS.page}`;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = `${req.method} ${url.pathname}`;
    if (route === `GET ${PATHS.page}`) {
      sendHtml(
        res,
        200,
        pageShell(this.slack.teamName, PATHS),
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' https: http: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      );
      return true;
    }
    const asset = req.method === 'GET' ? ASSETS[url.pathname] : undefined;
    if (asset) {
      const body = await this.asset(asset.file);
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(body);
      return true;
    }
    if (route === `GET ${PATHS.stream}`) {
      this.openStream(req, res, url);
      return true;
    }
    if (route === `POST ${PATHS.act}`) {
      const outcome = await this.act(req, res);
      sendJson(res, outcome.status, outcome.body);
      return true;
    }
    return false;
  }

  close(): void {
    this.unsubscribe();
    clearTimeout(this.renderTimer);
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
  }

  // ---- live screens

  private openStream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const parsed = viewpoint.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      sendJson(res, 400, { ok: false, error: 'bad viewpoint' });
      return;
    }
    const { c, tab, t } = parsed.data;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const stream: Stream = {
      res,
      viewer: this.slack.oidc.sessionUser(req.headers.cookie),
      at: { tab, ...(c ? { conversation: c } : {}), ...(t ? { thread: t } : {}) },
      last: '',
    };
    this.streams.add(stream);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      this.streams.delete(stream);
    });
    this.push(stream);
  }

  private scheduleRender(): void {
    if (this.renderTimer || this.streams.size === 0) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      for (const stream of this.streams) this.push(stream);
    }, RENDER_DEBOUNCE_MS);
  }

  /** Sends the stream's screen when it differs from what the page already shows. */
  private push(stream: Stream): void {
    let screen: Screen;
    try {
      const viewer = stream.viewer;
      if (viewer && this.slack.workspace.findUser(viewer) && stream.at.tab === 'messages') {
        const shown = shownConversation(this.slack, viewer, stream.at);
        if (shown) this.markSeen(viewer, shown.id);
      }
      screen = renderScreen(this.slack, viewer, stream.at, this.errorsByView, (channelId) =>
        viewer ? this.unseen(viewer, channelId) : 0,
      );
    } catch (error) {
      this.logger?.warn('workspace page could not render', { error: String(error) });
      return;
    }
    const data = JSON.stringify(screen);
    if (data === stream.last) return;
    stream.last = data;
    stream.res.write(`event: screen\ndata: ${data}\n\n`);
  }

  // ---- what people do

  private async act(req: IncomingMessage, res: ServerResponse): Promise<Outcome> {
    // JSON only: a cross-site form cannot post it without a preflight this server never grants.
    if (mediaType(req) !== 'application/json') return refuse('Send JSON.', 415);
    let request: ActRequest;
    try {
      const parsed = actRequest.safeParse(JSON.parse((await readBody(req, 256 * 1024)).toString('utf8')));
      if (!parsed.success) return refuse('That request is not one the page sends.');
      request = parsed.data;
    } catch {
      return refuse('That request is not JSON.');
    }
    if (request.kind === 'switch') return this.switchPerson(request.user, res);
    const viewer = this.slack.oidc.sessionUser(req.headers.cookie);
    if (!viewer || !this.slack.workspace.findUser(viewer)) return refuse('Pick who you are first.', 401);
    if (request.viewer !== viewer) {
      return refuse('This browser switched to someone else in another tab; reload the page.', 409);
    }
    try {
      switch (request.kind) {
        case 'send':
          return await this.send(viewer, request.conversation, request.text, request.thread);
        case 'action':
          return await this.action(viewer, request);
        case 'submit':
          return await this.submit(viewer, request.viewId, request.inputs);
        case 'close':
          return await this.closeModal(viewer, request.viewId);
        case 'home':
          return await this.homeOpened(viewer);
        case 'shortcut':
          return await this.shortcut(viewer, request.channel, request.ts, request.callbackId);
      }
    } catch (error) {
      // The app did not answer at all (it is stopping, say): the page says so instead of a bare 500.
      this.logger?.warn('workspace page could not reach the app', { error: String(error) });
      return refuse('The app could not be reached.', 502);
    }
  }

  /** Signs the browser in to Slack as this person, as logging in to the workspace would. */
  private switchPerson(userId: string, res: ServerResponse): Outcome {
    const user = this.slack.workspace.findUser(userId);
    if (!user || user.isBot || user.deleted) return refuse('No such person in this workspace.');
    res.setHeader('set-cookie', this.slack.oidc.sessionCookie(this.slack.oidc.signIn(user.id)));
    return ok();
  }

  private async send(viewer: string, conversation: string, text: string, thread?: string): Promise<Outcome> {
    const channel = this.memberChannel(viewer, conversation);
    if (!channel) return refuse('You are not in that conversation.', 403);
    if (text.startsWith('/')) {
      const command = text.split(/\s/, 1)[0] ?? '';
      if (command !== '/agent') {
        return refuse(`${command} is not a valid command. In this workspace the app's command is /agent.`);
      }
      const response = await this.driver.command(viewer, text.slice(command.length).trimStart(), {
        command,
        channelId: channel.id,
      });
      return response.status === 200
        ? ok()
        : refuse(`/agent failed: the app answered HTTP ${response.status}.`, 502);
    }
    if (thread && !this.slack.workspace.findMessage(channel.id, thread)) {
      return refuse('That thread is not in this conversation.');
    }
    const { responses } = await this.driver.say(viewer, withMentions(this.slack, text), {
      channelId: channel.id,
      ...(thread ? { threadTs: thread } : {}),
    });
    const failed = responses.find((r) => r.status !== 200);
    return failed ? refuse(`The app answered HTTP ${failed.status}.`, 502) : ok();
  }

  /** A message shortcut on a message the viewer can see, as Slack sends it. */
  private async shortcut(
    viewer: string,
    channelId: string,
    ts: string,
    callbackId: string,
  ): Promise<Outcome> {
    if (!this.memberChannel(viewer, channelId) || !this.slack.workspace.findMessage(channelId, ts))
      return refuse('That message is not one you can see.', 403);
    if (!appManifest().messageShortcuts.some((s) => s.callbackId === callbackId))
      return refuse('The app offers no such shortcut.');
    const response = await this.driver.messageShortcut(viewer, { callbackId, channelId, messageTs: ts });
    return response.status === 200 ? ok() : refuse(`The app answered HTTP ${response.status}.`, 502);
  }

  private async action(viewer: string, request: Extract<ActRequest, { kind: 'action' }>): Promise<Outcome> {
    const actor = request.as ?? viewer;
    const actorUser = this.slack.workspace.findUser(actor);
    if (!actorUser || actorUser.isBot) return refuse('No such person in this workspace.');
    if (request.as && request.surface.kind === 'view') {
      return refuse('Only message buttons can be tried as someone else.');
    }
    let blocks: unknown[];
    let where: Parameters<SlackDriver['blockAction']>[2];
    const view = request.surface.kind === 'view' ? this.ownView(viewer, request.surface.viewId) : undefined;
    if (request.surface.kind === 'view') {
      if (!view) return refuse('That view is not open for you.', 403);
      blocks = view.blocks;
    } else {
      const message = this.visibleMessage(viewer, request.surface.channel, request.surface.ts);
      if (!message) return refuse('That message is not one you can see.', 403);
      blocks = message.blocks ?? [];
    }
    const found = findActionElement(blocks, request.actionId, request.blockId);
    if (!found) return refuse('That element is not on the message or view.');
    const state = stateFromForm(blocks, request.inputs);
    if (view) {
      this.slack.workspace.setViewState(view.id, state);
      where = { view };
    } else if (request.surface.kind === 'message') {
      where = { channelId: request.surface.channel, messageTs: request.surface.ts, stateValues: state };
    }
    const type = String(found.element.type);
    const chosen = request.inputs.find((i) => i.blockId === found.blockId && i.actionId === request.actionId);
    const fields = type === 'button' ? {} : actionFields(found.element, chosen?.values ?? []);
    const before = this.slack.ephemerals(actor).length;
    const response = await this.driver.blockAction(
      actor,
      {
        actionId: request.actionId,
        blockId: found.blockId,
        type,
        ...(typeof found.element.value === 'string' ? { value: found.element.value } : {}),
        fields,
      },
      where,
    );
    if (response.status !== 200) return refuse(`The app answered HTTP ${response.status}.`, 502);
    if (!request.as) return ok();
    const name = actorUser.realName;
    const answer = await this.nextEphemeral(actor, before);
    return ok(
      answer
        ? `Sent as ${name}. Deputy answered ${name} privately: “${answer.text}”`
        : `Sent as ${name}. Deputy showed ${name} nothing.`,
    );
  }

  private async submit(viewer: string, viewId: string, formInputs: z.infer<typeof inputs>): Promise<Outcome> {
    const view = this.ownView(viewer, viewId);
    if (view?.type !== 'modal') return refuse('That modal is not open for you.', 403);
    if (view.submit === undefined) return refuse('This modal has nothing to submit.');
    const values = stateFromForm(view.blocks, formInputs);
    this.slack.workspace.setViewState(view.id, values);
    // Slack's client checks required inputs itself and sends nothing until they are filled.
    const missing = missingRequiredInputs(view.blocks, values);
    if (Object.keys(missing).length > 0) {
      this.errorsByView.set(view.id, { hash: view.hash, errors: missing });
      for (const stream of this.streams) this.push(stream);
      return ok();
    }
    const response = await this.driver.viewSubmission(viewer, {
      callbackId: view.callback_id,
      viewId: view.id,
      stateValues: values,
    });
    if (response.status !== 200) return refuse(`The app answered HTTP ${response.status}.`, 502);
    const ack = inlineErrors.safeParse(response.json);
    if (ack.success) {
      this.errorsByView.set(view.id, { hash: view.hash, errors: ack.data.errors });
      // The errors are new on the screen even though the workspace itself did not change.
      for (const stream of this.streams) this.push(stream);
    } else {
      this.errorsByView.delete(view.id);
    }
    return ok();
  }

  private async closeModal(viewer: string, viewId: string): Promise<Outcome> {
    const view = this.ownView(viewer, viewId);
    if (view?.type !== 'modal') return ok();
    this.errorsByView.delete(view.id);
    if (view.notify_on_close) await this.driver.viewClosed(viewer, view.id);
    else this.slack.workspace.closeModal(viewer, view.id);
    return ok();
  }

  /** Slack sends app_home_opened each time a person opens the app's Home tab. */
  private async homeOpened(viewer: string): Promise<Outcome> {
    const home = this.slack.homeView(viewer);
    const response = await this.driver.event({
      type: 'app_home_opened',
      user: viewer,
      channel: this.slack.dmChannelId(viewer),
      tab: 'home',
      ...(home ? { view: wireView(home) } : {}),
    });
    return response.status === 200 ? ok() : refuse(`The app answered HTTP ${response.status}.`, 502);
  }

  // ---- what a person has seen: a conversation shown in the page is read, to its newest message

  private markSeen(viewer: string, channelId: string): void {
    const newest = Math.max(0, ...this.slack.messages(channelId).map((m) => Number(m.ts)));
    this.seenUpTo.set(`${viewer}:${channelId}`, newest);
  }

  /** Messages from others (thread replies too: an agent's answers are in threads) the viewer has not seen. */
  private unseen(viewer: string, channelId: string): number {
    const seen = this.seenUpTo.get(`${viewer}:${channelId}`) ?? 0;
    return this.slack.messages(channelId).filter((m) => m.user !== viewer && Number(m.ts) > seen).length;
  }

  // ---- what a person may touch

  private memberChannel(viewer: string, conversation: string): SlackChannel | undefined {
    if (conversation === APP_CONVERSATION) return this.slack.channel(this.slack.dmChannelId(viewer));
    const channel = this.slack.workspace.findChannel(conversation);
    return channel?.members.includes(viewer) ? channel : undefined;
  }

  private visibleMessage(viewer: string, channelId: string, ts: string): SlackMessage | undefined {
    const channel = this.slack.workspace.findChannel(channelId);
    if (channel?.members.includes(viewer)) {
      const shared = this.slack.workspace.findMessage(channelId, ts);
      if (shared) return shared;
    }
    return this.slack.workspace.findEphemeral(viewer, ts);
  }

  /** A modal of the viewer's stack, or their Home tab. */
  private ownView(viewer: string, viewId: string): SlackView | undefined {
    const view = this.slack.view(viewId);
    return view && view.userId === viewer ? view : undefined;
  }

  private async nextEphemeral(userId: string, seen: number): Promise<SlackMessage | undefined> {
    const deadline = Date.now() + FORGED_ANSWER_WAIT_MS;
    while (Date.now() < deadline) {
      const next = this.slack.ephemerals(userId)[seen];
      if (next) return next;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  }

  private async asset(file: string): Promise<Buffer> {
    const cached = this.assets.get(file);
    if (cached) return cached;
    const body = await readFile(new URL(`./assets/${file}`, import.meta.url));
    this.assets.set(file, body);
    return body;
  }
}

/**
 * What a person typed as Slack's client sends it: `@Deputy` (the app's name) and `@handle` become
 * mentions (`<@U…>`), as picking them from Slack's autocomplete does.
 */
function withMentions(slack: SlackEmulator, text: string): string {
  const app = slack.workspace.config.botName.toLowerCase();
  return text.replace(/(^|[\s(])@([A-Za-z0-9._-]+)/g, (whole, before: string, handle: string) => {
    const name = handle.toLowerCase();
    if (name === app) return `${before}<@${slack.botUserId}>`;
    const user = slack.users.find((u) => !u.deleted && u.name.toLowerCase() === name);
    return user ? `${before}<@${user.id}>` : whole;
  });
}

/** Input blocks that are not optional and hold nothing, with Slack's own message. */
function missingRequiredInputs(blocks: unknown[], values: ViewStateValues): Record<string, string> {
  const missing: Record<string, string> = {};
  for (const block of blocks) {
    if (!isRecord(block) || block.type !== 'input' || block.optional === true) continue;
    const blockId = typeof block.block_id === 'string' ? block.block_id : '';
    const element = isRecord(block.element) ? block.element : {};
    // Elements the page cannot fill are left to the app to judge.
    if (!holdsState(String(element.type))) continue;
    const state = values[blockId]?.[String(element.action_id)];
    if (!hasValue(state)) missing[blockId] = 'Please complete this required field.';
  }
  return missing;
}

function hasValue(state: unknown): boolean {
  if (!isRecord(state)) return false;
  return Object.entries(state).some(
    ([key, value]) =>
      key !== 'type' && (Array.isArray(value) ? value.length > 0 : value !== null && value !== ''),
  );
}
