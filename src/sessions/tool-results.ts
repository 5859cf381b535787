import type { BetaManagedAgentsAgentMCPToolResultEvent } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import { escapeMrkdwn } from '../mrkdwn.js';
import { redact, redactText } from '../redact.js';
import type { McpToolUse, SessionEvent } from './events.js';

/** How long a summary of a tool's result may be in a progress line. */
const SUMMARY_MAX = 160;
/** The fields a person recognises a record by, in the order they are named. */
const NAMING_FIELDS = ['title', 'name', 'subject', 'status', 'id', 'url'];

/**
 * A tool's result in a few words for a progress line (mrkdwn, escaped): what it made or found, not
 * the JSON it came as (issue 20). A record is named by its title, name or id; a list by how many
 * and the first names; text by its first line. Secret-looking values are masked.
 */
export function toolResultSummary(content: BetaManagedAgentsAgentMCPToolResultEvent['content']): string {
  const text = resultText(content).trim();
  if (!text) return 'nothing';
  return escapeMrkdwn(cut(summarise(parsed(text) ?? text)));
}

/** A result's content as text: its text blocks, and what kind each other block is. */
function resultText(content: BetaManagedAgentsAgentMCPToolResultEvent['content']): string {
  return (content ?? []).map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('\n');
}

function parsed(text: string): unknown {
  if (!/^[[{]/.test(text)) return undefined;
  try {
    return redact(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function summarise(value: unknown): string {
  if (typeof value === 'string') return firstLine(redactText(value));
  if (Array.isArray(value)) return listSummary(value);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // A wrapper around a list ({results: [...]}, {items: [...]}) is told as the list.
    const lists = Object.values(record).filter(Array.isArray);
    if (lists.length === 1 && !namesOf(record)) return listSummary(lists[0] as unknown[]);
    return namesOf(record) ?? `${Object.keys(record).length} fields`;
  }
  return String(value);
}

function listSummary(items: unknown[]): string {
  if (items.length === 0) return 'no results';
  const names = items
    .slice(0, 3)
    .map((item) => (item && typeof item === 'object' ? nameOf(item as Record<string, unknown>) : undefined))
    .filter((n): n is string => n !== undefined);
  const count = `${items.length} result${items.length === 1 ? '' : 's'}`;
  return names.length > 0
    ? `${count}: ${names.join(', ')}${items.length > names.length ? ', …' : ''}`
    : count;
}

/** `title “Launch plan”, id page_1`: up to two naming fields of a record. */
function namesOf(record: Record<string, unknown>): string | undefined {
  const named = NAMING_FIELDS.filter((field) => isScalar(record[field]))
    .slice(0, 2)
    .map((field) => `${field} “${firstLine(String(record[field]))}”`);
  return named.length > 0 ? named.join(', ') : undefined;
}

/** The one field a record in a list is best known by. */
function nameOf(record: Record<string, unknown>): string | undefined {
  const field = NAMING_FIELDS.find((f) => isScalar(record[f]));
  return field ? `“${firstLine(String(record[field]))}”` : undefined;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string'
    ? value.trim() !== ''
    : typeof value === 'number' || typeof value === 'boolean';
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]?.trim() ?? '';
}

function cut(text: string): string {
  return text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 1)}…` : text;
}

/** How many of a session's tool calls its details show (the newest). */
const DETAILS_MAX = 25;

/** One tool call of a session with what came of it, raw: the details behind its progress lines. */
export interface ToolCallDetail {
  call: string;
  outcome: 'returned' | 'failed' | 'denied' | 'refused by policy' | 'no result yet';
  /** The result's text as the tool gave it (secret-looking values masked), not escaped. */
  result: string;
}

type ToolResultEvent = Extract<SessionEvent, { type: 'agent.mcp_tool_result' }>;

/**
 * What came of a tool call, from the session's events: the one reading of it, for its progress line
 * and for its details.
 */
export function callOutcome(
  history: readonly SessionEvent[],
  use: McpToolUse,
  result: ToolResultEvent | undefined,
): ToolCallDetail['outcome'] {
  if (use.evaluated_permission === 'deny') return 'refused by policy';
  const denied = history.some(
    (e) => e.type === 'user.tool_confirmation' && e.tool_use_id === use.id && e.result === 'deny',
  );
  if (denied) return 'denied';
  if (!result) return 'no result yet';
  return result.is_error ? 'failed' : 'returned';
}

/** The session's tool calls, newest last, each with its raw result, from its events. */
export function toolCallDetails(history: readonly SessionEvent[]): ToolCallDetail[] {
  const details: ToolCallDetail[] = [];
  for (const event of history) {
    if (event.type !== 'agent.mcp_tool_use') continue;
    const result = history.find(
      (e): e is ToolResultEvent => e.type === 'agent.mcp_tool_result' && e.mcp_tool_use_id === event.id,
    );
    details.push({
      call: `${event.mcp_server_name}.${event.name}`,
      outcome: callOutcome(history, event, result),
      result: redactText(resultText(result?.content)),
    });
  }
  return details.slice(-DETAILS_MAX);
}
