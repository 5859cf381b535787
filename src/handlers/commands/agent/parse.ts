import type { AuditQuery } from '../../../audit/audit-trail.js';
import { MAX_CEILING_USD } from '../../../sessions/session-service.js';

/** Longest `/agent` text accepted; longer input is refused with a message before any work. */
export const MAX_COMMAND_TEXT = 3000;

export type AgentSubcommand =
  | { name: 'help' }
  | { name: 'status' }
  | { name: 'connect' }
  | { name: 'servers' }
  /** An admin's per-person rate limits. */
  | { name: 'limits' }
  /** What the person's agents cost them, against their budget. */
  | { name: 'usage' }
  /** An admin's spend budgets: everyone's (no target), a person's, or an agent's; `invalid` when the text names none. */
  | { name: 'budgets'; target: BudgetsTarget }
  | { name: 'agents' }
  | { name: 'run'; rest: string }
  | { name: 'sessions' }
  | { name: 'setup'; agentName?: string }
  /** An admin's kill switch; `userId` is undefined when the text names nobody Deputy can read. */
  | { name: 'revoke' | 'suspend' | 'resume'; userId?: string }
  /** An admin makes everyone reconnect a connector (named by its catalog id). */
  | { name: 'force_reconnect'; connectorId?: string }
  /** An admin raises a session's spend ceiling; both undefined unless the text reads as `SESSION USD`. */
  | { name: 'budget'; sessionId?: string; usd?: number }
  | { name: 'forget_me' }
  /** The audit trail: yours, or (admins) a person's, a session's or an agent's; none: unreadable. */
  | { name: 'audit'; query?: AuditQuery }
  | { name: 'unknown'; word: string }
  | { name: 'too_long'; length: number };

/** Whose budgets `/agent budgets` opens. */
export type BudgetsTarget =
  | { kind: 'defaults' }
  | { kind: 'person'; userId: string }
  | { kind: 'agent'; agentName: string }
  | { kind: 'invalid' };

/** Reads `/agent` text: the first word names the subcommand; no text means help. */
export function parseAgentCommand(text: string): AgentSubcommand {
  if (text.length > MAX_COMMAND_TEXT) return { name: 'too_long', length: text.length };
  const [word = ''] = text.trim().split(/\s+/, 1);
  switch (word.toLowerCase()) {
    case '':
    case 'help':
      return { name: 'help' };
    case 'status':
      return { name: 'status' };
    case 'connect':
      return { name: 'connect' };
    case 'servers':
      return { name: 'servers' };
    case 'limits':
      return { name: 'limits' };
    case 'usage':
      return { name: 'usage' };
    case 'budgets':
      return { name: 'budgets', target: budgetsTarget(text.trim().slice(word.length).trim()) };
    case 'agents':
      return { name: 'agents' };
    case 'run':
      return { name: 'run', rest: text.trim().slice(word.length).trim() };
    case 'sessions':
      return { name: 'sessions' };
    case 'setup': {
      const agentName = text.trim().split(/\s+/)[1];
      return agentName ? { name: 'setup', agentName } : { name: 'setup' };
    }
    case 'revoke':
    case 'suspend':
    case 'resume': {
      const userId = mentionedUser(text.trim().slice(word.length).trim());
      return { name: word.toLowerCase() as 'revoke' | 'suspend' | 'resume', ...(userId ? { userId } : {}) };
    }
    case 'forget-me':
      return { name: 'forget_me' };
    case 'audit': {
      const query = auditQuery(text.trim().slice(word.length).trim());
      return query ? { name: 'audit', query } : { name: 'audit' };
    }
    case 'budget':
      return { name: 'budget', ...budgetArguments(text.trim().slice(word.length).trim()) };
    case 'force-reconnect': {
      const connectorId = text.trim().split(/\s+/)[1]?.toLowerCase();
      return connectorId ? { name: 'force_reconnect', connectorId } : { name: 'force_reconnect' };
    }
    default:
      return { name: 'unknown', word };
  }
}

/**
 * The person a kill-switch command names: a mention as Slack escapes it (`<@U123|name>`, `<@U123>`),
 * or a member ID as Slack's profile menu copies it (`U123`). Nothing else: names are not unique.
 */
function mentionedUser(rest: string): string | undefined {
  const match = /^(?:<@([A-Z0-9][A-Z0-9_]{1,40})(?:\|[^>]*)?>|([UW][A-Z0-9_]{2,40}))$/.exec(rest);
  return match?.[1] ?? match?.[2];
}

/**
 * What `/agent audit` is asked for: nothing (your own), a person (as revoke names one), a session id,
 * or `agent NAME`. Anything else reads as nothing it can search.
 */
function auditQuery(rest: string): AuditQuery | undefined {
  if (!rest) return { kind: 'mine' };
  const session = /^(sesn_[A-Za-z0-9_-]{1,100})$/.exec(rest)?.[1];
  if (session) return { kind: 'session', sessionId: session };
  const agent = /^agent\s+([a-z0-9][a-z0-9-]{0,39})$/i.exec(rest)?.[1];
  if (agent) return { kind: 'agent', name: agent.toLowerCase() };
  const userId = mentionedUser(rest);
  return userId ? { kind: 'person', userId } : undefined;
}

/** Nothing (everyone's budgets), a person (as revoke names one), or `agent NAME`. */
function budgetsTarget(rest: string): BudgetsTarget {
  if (!rest) return { kind: 'defaults' };
  const agent = /^agent\s+([a-z0-9][a-z0-9-]{0,39})$/i.exec(rest)?.[1];
  if (agent) return { kind: 'agent', agentName: agent.toLowerCase() };
  const userId = mentionedUser(rest);
  return userId ? { kind: 'person', userId } : { kind: 'invalid' };
}

/**
 * `SESSION_ID USD` for `/agent budget`: a Managed Agents session id and a dollar amount with at most
 * two decimals (`$` allowed), above zero and at most `maxUsd`. Anything else reads as neither.
 */
function budgetArguments(rest: string): { sessionId?: string; usd?: number } {
  const match = /^(sesn_[A-Za-z0-9_-]{1,100})\s+\$?(\d{1,5}(?:\.\d{1,2})?)$/.exec(rest);
  const usd = Number(match?.[2]);
  return match?.[1] && usd > 0 && usd <= MAX_CEILING_USD ? { sessionId: match[1], usd } : {};
}
