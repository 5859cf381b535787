import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../src/clock.js';
import { randomBase58 } from '../../src/ids.js';
import type { SlackEmulator } from './emulator.js';
import { appManifest } from './manifest.js';
import {
  type ActionSurface,
  blockActionsPayload,
  defaultChannelFor,
  enterpriseField,
  eventEnvelope,
  locateAction,
  slashCommandBody,
  stateValuesFor,
  syntheticModal,
  teamField,
  userField,
  viewPayload,
} from './payloads.js';
import { signSlackRequest } from './signing.js';
import {
  findActionElement,
  type SlackView,
  type ViewStateValues,
  wireMessage,
  wireView,
} from './workspace.js';

export interface DriverResponse {
  status: number;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  headers: Headers;
  /** What was sent, so the same delivery can be sent again (`redeliver`). */
  request: SendRequest;
}

/** How Slack marks a delivery it sends again: `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`. */
export interface Redelivery {
  retryNum?: number;
  retryReason?: 'http_timeout' | 'http_error' | 'too_many_requests' | 'unknown_error';
  /** Signed at this time (default: now, as Slack signs each attempt anew). */
  timestampSeconds?: number;
}

export interface SlackDriverOptions {
  /** Base URL of the app, e.g. http://127.0.0.1:3000. */
  appUrl: string;
  signingSecret: string;
  slack: SlackEmulator;
  /** Signs with this clock; real time by default, since Bolt checks the timestamp against its own. */
  clock?: Clock;
  /** Default `/slack/events`. */
  path?: string;
}

export interface SendRequest {
  body: string;
  contentType: string;
  timestampSeconds?: number;
  /** Sign with another secret (to prove the app refuses it). */
  signingSecret?: string;
  /** Send this signature as is. */
  signature?: string;
  headers?: Record<string, string>;
}

export interface BlockActionInput {
  actionId: string;
  blockId?: string;
  value?: string;
  /** Element type, e.g. `button`, `static_select`; taken from the rendered element when found. */
  type?: string;
  selectedOption?: unknown;
  /** Further fields of the action as Slack sends them (`selected_options`, `selected_users`, …). */
  fields?: Record<string, unknown>;
}

export interface BlockActionWhere {
  channelId?: string;
  messageTs?: string;
  view?: SlackView;
  /** Include a response_url (message actions only); default true. */
  responseUrl?: boolean;
  /** The inputs as the person left them (a view's replace the state the emulator holds for it). */
  stateValues?: ViewStateValues;
}

export interface ViewSubmissionInput {
  callbackId: string;
  privateMetadata?: string;
  /** `{ [blockId]: { [actionId]: stateValue } }`; a string value means a typed-in text. */
  stateValues?: Record<string, Record<string, unknown>>;
  viewId?: string;
  hash?: string;
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * Plays Slack's side of the request URL: builds what Slack would send for a person's command, click,
 * submission or event, signs it, posts it to the app, and applies the acknowledgement to the
 * emulator's workspace as Slack would (a command's ack body shown, a modal closed on submission).
 */
export class SlackDriver {
  private readonly appUrl: string;
  private readonly signingSecret: string;
  private readonly slack: SlackEmulator;
  private readonly clock: Clock;
  private readonly path: string;

  constructor(options: SlackDriverOptions) {
    this.appUrl = options.appUrl.replace(/\/$/, '');
    this.signingSecret = options.signingSecret;
    this.slack = options.slack;
    this.clock = options.clock ?? systemClock;
    this.path = options.path ?? '/slack/events';
  }

  /** POSTs a raw body exactly as Slack does, signed unless `signature` is given. */
  async send(request: SendRequest): Promise<DriverResponse> {
    const timestamp = request.timestampSeconds ?? Math.floor(this.clock.now() / 1000);
    const signed = signSlackRequest(request.body, request.signingSecret ?? this.signingSecret, timestamp);
    const response = await fetch(`${this.appUrl}${this.path}`, {
      method: 'POST',
      headers: {
        'content-type': request.contentType,
        ...signed,
        ...(request.signature === undefined ? {} : { 'x-slack-signature': request.signature }),
        ...request.headers,
      },
      body: request.body,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return {
      status: response.status,
      text,
      ...(json === undefined ? {} : { json }),
      headers: response.headers,
      request,
    };
  }

  /**
   * The same delivery again, as Slack sends it after a timeout or an error: the same body, signed
   * anew, marked with the retry headers (or, without them, a plain duplicate).
   */
  redeliver(request: SendRequest, retry: Redelivery = {}): Promise<DriverResponse> {
    const { timestampSeconds: _firstSignedAt, ...again } = request;
    return this.send({
      ...again,
      ...timestamp(retry.timestampSeconds),
      headers: {
        ...request.headers,
        ...retryHeaders(retry.retryNum),
        ...(retry.retryReason ? { 'x-slack-retry-reason': retry.retryReason } : {}),
      },
    });
  }

  /** A person typing `/agent <text>` (or `command`) in a channel (default: the first they are in). */
  async command(
    userId: string,
    text: string,
    options: { command?: string; channelId?: string; timestampSeconds?: number; retryNum?: number } = {},
  ): Promise<DriverResponse & { responseUrl: string; triggerId: string }> {
    const channel = options.channelId
      ? this.slack.channel(options.channelId)
      : defaultChannelFor(this.slack, userId);
    const responseUrl = this.slack.newResponseUrl({ channelId: channel.id, userId });
    const triggerId = this.slack.newTriggerId({ userId });
    const body = slashCommandBody(this.slack, {
      userId,
      text: this.slack.escapeCommandText(text),
      command: options.command ?? '/agent',
      channel,
      responseUrl,
      triggerId,
    });
    const response = await this.send({
      body,
      contentType: FORM,
      ...timestamp(options.timestampSeconds),
      headers: retryHeaders(options.retryNum),
    });
    if (response.status === 200 && response.text)
      this.slack.deliverCommandAck(responseUrl, response.json ?? response.text);
    return { ...response, responseUrl, triggerId };
  }

  /**
   * A person clicking/choosing an interactive element. Without `where`, the element is looked for
   * where the person sees it (top modal, Home tab, newest message), and its block_id, type and
   * value are taken from it; explicit fields win.
   */
  async blockAction(
    userId: string,
    action: BlockActionInput,
    where: BlockActionWhere = {},
  ): Promise<DriverResponse & { triggerId: string; responseUrl?: string }> {
    const surface = this.surfaceFor(userId, action.actionId, where);
    const blocks = surface.kind === 'view' ? surface.view.blocks : surface.message?.blocks;
    const found =
      findActionElement(blocks, action.actionId, action.blockId) ??
      findActionElement(blocks, action.actionId);
    const element = found?.element ?? {};
    const value = action.value ?? (typeof element.value === 'string' ? element.value : undefined);
    const actionPayload = {
      type: action.type ?? (typeof element.type === 'string' ? element.type : 'button'),
      action_id: action.actionId,
      block_id: action.blockId ?? found?.blockId ?? randomBase58(5),
      ...(element.text === undefined ? {} : { text: element.text }),
      ...(value === undefined ? {} : { value }),
      ...(action.selectedOption === undefined ? {} : { selected_option: action.selectedOption }),
      ...action.fields,
      // Unique per click, as Slack's are, even when the clock stands still.
      action_ts: this.slack.workspace.nextTs(),
    };
    const triggerId = this.slack.newTriggerId({
      userId,
      ...(surface.kind === 'view' && surface.view.type === 'modal' ? { viewId: surface.view.id } : {}),
    });
    const responseUrl =
      surface.kind === 'message' && where.responseUrl !== false
        ? this.slack.newResponseUrl({
            channelId: surface.channel.id,
            userId,
            ...(surface.message ? { messageTs: surface.message.ts } : {}),
          })
        : undefined;
    const payload = blockActionsPayload(this.slack, {
      userId,
      surface,
      action: actionPayload,
      triggerId,
      ...(responseUrl ? { responseUrl } : {}),
      ...(where.stateValues ? { stateValues: where.stateValues } : {}),
    });
    const response = await this.sendPayload(payload);
    return { ...response, triggerId, ...(responseUrl ? { responseUrl } : {}) };
  }

  /**
   * A person submitting a modal: the open modal with that callback_id (or `viewId`), with the
   * given state values; the ack's `response_action` (or its absence) is applied to the modal stack.
   */
  async viewSubmission(userId: string, input: ViewSubmissionInput): Promise<DriverResponse> {
    const stored = input.viewId
      ? this.slack.view(input.viewId)
      : [...this.slack.openViews(userId)].reverse().find((v) => v.callback_id === input.callbackId);
    const base = stored ? wireView(stored) : syntheticModal(this.slack, input.callbackId);
    const view = {
      ...base,
      ...(input.viewId ? { id: input.viewId } : {}),
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata ?? base.private_metadata,
      state: { values: stateValuesFor(stored, input.stateValues ?? {}) },
      hash: input.hash ?? base.hash,
    };
    const triggerId = this.slack.newTriggerId({ userId, viewId: String(view.id) });
    const response = await this.sendPayload(
      viewPayload(this.slack, 'view_submission', userId, view, triggerId),
    );
    if (response.status === 200 && stored) {
      this.slack.applyViewSubmissionAck(userId, stored.id, response.json ?? {});
    }
    return response;
  }

  /** A person closing a modal (sent when the view has `notify_on_close`); the modal closes. */
  async viewClosed(userId: string, viewId: string): Promise<DriverResponse> {
    const stored = this.slack.view(viewId);
    const view = stored ? wireView(stored) : { ...syntheticModal(this.slack, ''), id: viewId };
    const response = await this.sendPayload(viewPayload(this.slack, 'view_closed', userId, view));
    if (stored) this.slack.applyViewSubmissionAck(userId, viewId, {});
    return response;
  }

  /** An Events API delivery of `event` (its `event_ts` filled in when missing). */
  async event(
    event: Record<string, unknown>,
    options: { eventId?: string; retryNum?: number; retryReason?: string; timestampSeconds?: number } = {},
  ): Promise<DriverResponse> {
    const now = this.clock.now();
    const eventTs = event.event_ts ?? event.ts ?? (now / 1000).toFixed(6);
    const envelope = eventEnvelope(this.slack, {
      event: { ...event, event_ts: eventTs },
      eventId: options.eventId ?? `Ev${randomBase58(10).toUpperCase()}`,
      eventTime: Math.floor(now / 1000),
    });
    return this.send({
      body: JSON.stringify(envelope),
      contentType: 'application/json',
      ...timestamp(options.timestampSeconds),
      headers: {
        ...retryHeaders(options.retryNum),
        ...(options.retryReason ? { 'x-slack-retry-reason': options.retryReason } : {}),
      },
    });
  }

  /**
   * A person writing `text` (default: in their DM with the app): the message is added to the
   * workspace and a `message` event delivered.
   */
  async message(
    userId: string,
    text: string,
    options: { channelId?: string; threadTs?: string } = {},
  ): Promise<DriverResponse & { ts: string; channelId: string }> {
    const channel = this.slack.channel(options.channelId ?? this.slack.dmChannelId(userId));
    const posted = this.slack.postAsUser(userId, channel.id, text, options.threadTs);
    const response = await this.event({
      type: 'message',
      client_msg_id: randomUUID(),
      user: userId,
      text,
      ts: posted.ts,
      team: this.slack.teamId,
      channel: channel.id,
      channel_type: channel.isIm ? 'im' : channel.isPrivate ? 'group' : 'channel',
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
    });
    return { ...response, ts: posted.ts, channelId: channel.id };
  }

  /** A person mentioning the app in a channel (default: the first they are in): an `app_mention` event. */
  async appMention(
    userId: string,
    text: string,
    options: { channelId?: string; threadTs?: string } = {},
  ): Promise<DriverResponse & { ts: string; channelId: string }> {
    const channel = options.channelId
      ? this.slack.channel(options.channelId)
      : defaultChannelFor(this.slack, userId);
    const mention = `<@${this.slack.botUserId}>`;
    const fullText = text.includes(mention) ? text : `${mention} ${text}`;
    const posted = this.slack.postAsUser(userId, channel.id, fullText, options.threadTs);
    const response = await this.event({
      type: 'app_mention',
      client_msg_id: randomUUID(),
      user: userId,
      text: fullText,
      ts: posted.ts,
      team: this.slack.teamId,
      channel: channel.id,
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
    });
    return { ...response, ts: posted.ts, channelId: channel.id };
  }

  /**
   * A person posting `text` as a person does in Slack's client: the message is added once, and the
   * app is sent what Slack would send it: the `message` event its manifest subscribes to for that
   * kind of conversation, and `app_mention` when the text mentions it in a channel; nothing where
   * the app is not a member. Returns the app's responses (none when it was sent nothing).
   */
  async say(
    userId: string,
    text: string,
    options: { channelId: string; threadTs?: string },
  ): Promise<{ ts: string; responses: DriverResponse[] }> {
    const channel = this.slack.channel(options.channelId);
    const posted = this.slack.postAsUser(userId, channel.id, text, options.threadTs);
    const responses: DriverResponse[] = [];
    if (!channel.members.includes(this.slack.botUserId)) return { ts: posted.ts, responses };
    const common = {
      client_msg_id: randomUUID(),
      user: userId,
      text,
      ts: posted.ts,
      team: this.slack.teamId,
      channel: channel.id,
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
    };
    const kind = channel.isIm ? 'im' : channel.isPrivate ? 'group' : 'channel';
    const { botEvents } = appManifest();
    const subscription = { channel: 'message.channels', group: 'message.groups', im: 'message.im' }[kind];
    if (botEvents.includes(subscription))
      responses.push(await this.event({ type: 'message', ...common, channel_type: kind }));
    if (!channel.isIm && botEvents.includes('app_mention') && text.includes(`<@${this.slack.botUserId}>`))
      responses.push(await this.event({ type: 'app_mention', ...common }));
    return { ts: posted.ts, responses };
  }

  /**
   * A person using a message shortcut on a message: a `message_action` payload with the message as
   * Slack sends it. Slack offers only the shortcuts the app's manifest declares.
   */
  async messageShortcut(
    userId: string,
    input: { callbackId: string; channelId: string; messageTs: string },
  ): Promise<DriverResponse & { triggerId: string }> {
    if (!appManifest().messageShortcuts.some((s) => s.callbackId === input.callbackId))
      throw new Error(`Slack offers no message shortcut ${input.callbackId}: manifest.yml declares none`);
    const channel = this.slack.channel(input.channelId);
    const message = this.slack.workspace.findMessage(channel.id, input.messageTs);
    if (!message) throw new Error(`Slack emulator: no message ${input.messageTs} in ${channel.id}`);
    const triggerId = this.slack.newTriggerId({ userId });
    const responseUrl = this.slack.newResponseUrl({ channelId: channel.id, userId, messageTs: message.ts });
    const payload = {
      type: 'message_action',
      token: this.slack.verificationToken,
      action_ts: this.slack.workspace.nextTs(),
      team: teamField(this.slack),
      user: userField(this.slack, userId),
      channel: { id: channel.id, name: channel.name },
      is_enterprise_install: false,
      enterprise: enterpriseField(this.slack),
      callback_id: input.callbackId,
      trigger_id: triggerId,
      response_url: responseUrl,
      message_ts: message.ts,
      message: wireMessage(message),
      api_app_id: this.slack.appId,
    };
    return { ...(await this.sendPayload(payload)), triggerId };
  }

  /** Slack's check of a new request URL; Bolt answers with the challenge. */
  urlVerification(challenge: string): Promise<DriverResponse> {
    const body = JSON.stringify({ token: this.slack.verificationToken, challenge, type: 'url_verification' });
    return this.send({ body, contentType: 'application/json' });
  }

  private sendPayload(payload: Record<string, unknown>): Promise<DriverResponse> {
    return this.send({
      body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      contentType: FORM,
    });
  }

  private surfaceFor(userId: string, actionId: string, where: BlockActionWhere): ActionSurface {
    if (where.view) return { kind: 'view', view: this.slack.view(where.view.id) ?? where.view };
    if (where.channelId || where.messageTs) {
      const channel = this.slack.channel(where.channelId ?? this.slack.dmChannelId(userId));
      const ts = where.messageTs;
      const shared = ts ? this.slack.messages(channel.id).find((m) => m.ts === ts) : undefined;
      const ephemeral = ts && !shared ? this.slack.ephemerals(userId).find((m) => m.ts === ts) : undefined;
      const message = shared ?? ephemeral;
      return {
        kind: 'message',
        channel,
        ...(message ? { message } : {}),
        ephemeral: ephemeral !== undefined,
      };
    }
    return (
      locateAction(this.slack, userId, actionId) ?? {
        kind: 'message',
        channel: this.slack.channel(this.slack.dmChannelId(userId)),
        ephemeral: false,
      }
    );
  }
}

function timestamp(seconds: number | undefined): { timestampSeconds?: number } {
  return seconds === undefined ? {} : { timestampSeconds: seconds };
}

function retryHeaders(retryNum: number | undefined): Record<string, string> {
  return retryNum === undefined ? {} : { 'x-slack-retry-num': String(retryNum) };
}
