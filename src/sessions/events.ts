import type Anthropic from '@anthropic-ai/sdk';
import type {
  BetaManagedAgentsAgentMCPToolUseEvent,
  BetaManagedAgentsAgentMessageEvent,
  BetaManagedAgentsEventParams,
  BetaManagedAgentsSessionEvent,
  BetaManagedAgentsStreamSessionEvents,
  BetaManagedAgentsUserMessageEvent,
} from '@anthropic-ai/sdk/resources/beta/sessions/events';
import type { Clock } from '../clock.js';
import { fingerprint } from '../fingerprint.js';
import { exactlyOnce } from '../outcome.js';

/** A session's event, as the SDK types it: the relay and approvals switch on its `type`. */
export type SessionEvent = BetaManagedAgentsSessionEvent;
/** What the live stream yields: session events, and previews of events still being written. */
export type StreamEvent = BetaManagedAgentsStreamSessionEvents;
export type McpToolUse = BetaManagedAgentsAgentMCPToolUseEvent;

/** A tool call the session is blocked on, with the fingerprint of its arguments as they are now. */
export interface HeldToolCall {
  call: McpToolUse;
  argumentsHash: string;
}

/** Every event of the session so far, oldest first. */
export async function sessionHistory(anthropic: Anthropic, sessionId: string): Promise<SessionEvent[]> {
  const events: SessionEvent[] = [];
  for await (const event of anthropic.beta.sessions.events.list(sessionId, { limit: 1000 }))
    events.push(event);
  return events;
}

/** A streamed event that is a session event (not the preview of one being written). */
export function isSessionEvent(event: StreamEvent): event is StreamEvent & SessionEvent {
  return event.type !== 'event_start' && event.type !== 'event_delta';
}

/**
 * The one reader of held tool calls: the MCP tool calls the latest `session.status_idle` in `events`
 * says the session waits on (its `requires_action` event ids) and that have no confirmation yet,
 * each with its arguments' fingerprint. None when the session last went idle for another reason, or
 * ended.
 */
export function heldToolCalls(events: readonly SessionEvent[]): HeldToolCall[] {
  const calls = new Map<string, McpToolUse>();
  const confirmed = confirmedToolUses(events);
  let waitingOn: readonly string[] = [];
  for (const event of events) {
    if (event.type === 'agent.mcp_tool_use') calls.set(event.id, event);
    else if (event.type === 'session.status_idle')
      waitingOn = event.stop_reason.type === 'requires_action' ? event.stop_reason.event_ids : [];
    else if (event.type === 'session.status_terminated' || event.type === 'session.deleted') waitingOn = [];
  }
  return waitingOn.flatMap((id) => {
    const call = calls.get(id);
    return call && !confirmed.has(id) ? [{ call, argumentsHash: fingerprint(call.input) }] : [];
  });
}

/** The tool uses the session already has a `user.tool_confirmation` for. */
export function confirmedToolUses(events: readonly SessionEvent[]): Set<string> {
  return new Set(events.flatMap((e) => (e.type === 'user.tool_confirmation' ? [e.tool_use_id] : [])));
}

/** What a session waits on, read from its events: the calls held for a decision, and those confirmed. */
export interface SessionWait {
  /** Held tool use id → fingerprint of its arguments. */
  held: Map<string, string>;
  confirmed: Set<string>;
  /** The session has ended, or its turn ended: it waits on no call. */
  atRest: boolean;
}

export function sessionWait(events: readonly SessionEvent[]): SessionWait {
  return {
    held: new Map(heldToolCalls(events).map(({ call, argumentsHash }) => [call.id, argumentsHash])),
    confirmed: confirmedToolUses(events),
    atRest: atRest(lastStatus(events)),
  };
}

/** The session's latest status event (its status as of `events`). */
export function lastStatus(events: readonly SessionEvent[]): SessionEvent | undefined {
  return events.findLast((e) => e.type.startsWith('session.status_') || e.type === 'session.deleted');
}

/** Whether this event leaves the session waiting for nobody: a turn that ended, or the session's end. */
export function atRest(event: SessionEvent | undefined): boolean {
  if (!event) return false;
  if (event.type === 'session.status_terminated' || event.type === 'session.deleted') return true;
  return event.type === 'session.status_idle' && event.stop_reason.type !== 'requires_action';
}

/**
 * Whether a relay may let the session rest after `events`: its last status is idle (for any reason,
 * a decision awaited included) or it ended, and nobody has sent it anything since (a follow-up or a
 * decision just sent shows before the status it causes).
 */
export function restsAt(events: readonly SessionEvent[]): boolean {
  const at = events.findLastIndex(
    (e) => e.type.startsWith('session.status_') || e.type === 'session.deleted',
  );
  const last = events[at];
  if (!last) return false;
  const resting = last.type === 'session.status_idle' || atRest(last);
  return resting && !events.slice(at + 1).some((e) => e.type.startsWith('user.'));
}

/** The text of an agent's or a person's message (its text blocks, joined). */
export function messageText(
  event: Pick<BetaManagedAgentsAgentMessageEvent | BetaManagedAgentsUserMessageEvent, 'content'>,
): string {
  return event.content
    .map((block) => (block.type === 'text' ? block.text : ''))
    .join('')
    .trim();
}

/** A send not answered by then has an unknown outcome. */
export const SEND_TIMEOUT_MS = 20 * 1000;

/**
 * Sends user events that must reach the session once: an attempt whose answer is lost is settled by
 * reading the session's events for `landed`, and sent again only when they are not there.
 */
export async function sendReconciled(
  deps: { anthropic: Anthropic; clock: Clock },
  sessionId: string,
  events: BetaManagedAgentsEventParams[],
  landed: (history: readonly SessionEvent[]) => boolean,
): Promise<void> {
  await exactlyOnce(
    deps.clock,
    async () => {
      await deps.anthropic.beta.sessions.events.send(
        sessionId,
        { events },
        { maxRetries: 0, timeout: SEND_TIMEOUT_MS },
      );
      return true;
    },
    async () => (landed(await sessionHistory(deps.anthropic, sessionId)) ? true : undefined),
    { attempts: 3 },
  );
}

/** How many tool calls were denied since the session's current turn began (its last `user.message`). */
export function deniedThisTurn(history: readonly SessionEvent[]): number {
  let denied = 0;
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const event = history[i];
    if (event?.type === 'user.message') break;
    if (event?.type === 'user.tool_confirmation' && event.result === 'deny') denied += 1;
  }
  return denied;
}

/** Whether the session's current turn was already interrupted (a `user.interrupt` since it last started running). */
export function interruptedThisTurn(history: readonly SessionEvent[]): boolean {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const event = history[i];
    if (event?.type === 'user.interrupt') return true;
    if (event?.type === 'session.status_running') return false;
  }
  return false;
}

/** The newest `user.message` the session has (processed or queued), to tell a follow-up's own echo from earlier ones. */
export async function newestUserMessage(
  anthropic: Anthropic,
  sessionId: string,
): Promise<string | undefined> {
  const page = await anthropic.beta.sessions.events.list(sessionId, {
    types: ['user.message'],
    order: 'desc',
    limit: 1,
  });
  return page.data[0]?.id;
}

/** Whether a `user.message` with exactly `text` came after the event `after` (or at all, without it). */
export function userMessageAfter(
  history: readonly SessionEvent[],
  after: string | undefined,
  text: string,
): boolean {
  const from = after === undefined ? 0 : history.findIndex((e) => e.id === after) + 1;
  return history.slice(from).some((e) => e.type === 'user.message' && messageText(e) === text);
}
