import type Anthropic from '@anthropic-ai/sdk';
import type {
  BetaManagedAgentsAgentMCPToolUseEvent,
  BetaManagedAgentsAgentMessageEvent,
  BetaManagedAgentsSessionEvent,
  BetaManagedAgentsStreamSessionEvents,
} from '@anthropic-ai/sdk/resources/beta/sessions/events';
import { fingerprint } from '../fingerprint.js';

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
 * says the session waits on (its `requires_action` event ids), each with its arguments' fingerprint.
 * None when the session last went idle for another reason.
 */
export function heldToolCalls(events: readonly SessionEvent[]): HeldToolCall[] {
  const calls = new Map<string, McpToolUse>();
  let waitingOn: readonly string[] = [];
  for (const event of events) {
    if (event.type === 'agent.mcp_tool_use') calls.set(event.id, event);
    else if (event.type === 'session.status_idle')
      waitingOn = event.stop_reason.type === 'requires_action' ? event.stop_reason.event_ids : [];
  }
  return waitingOn.flatMap((id) => {
    const call = calls.get(id);
    return call ? [{ call, argumentsHash: fingerprint(call.input) }] : [];
  });
}

/** Whether this event leaves the session waiting for nobody: a turn that ended, or the session's end. */
export function atRest(event: SessionEvent | undefined): boolean {
  if (!event) return false;
  if (event.type === 'session.status_terminated' || event.type === 'session.deleted') return true;
  return event.type === 'session.status_idle' && event.stop_reason.type !== 'requires_action';
}

/** The text of an agent's message (its text blocks, joined). */
export function messageText(event: BetaManagedAgentsAgentMessageEvent): string {
  return event.content
    .map((block) => (block.type === 'text' ? block.text : ''))
    .join('')
    .trim();
}
