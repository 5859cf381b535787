import type { DepartureSummary } from '../people/notices.js';
import { section } from './elements.js';
import type { SlackMessage } from './messages.js';

const REASONS: Record<string, string> = {
  tokens_revoked: 'revoked Deputy’s access',
  deactivated: 'was deactivated or left the workspace',
};

/** An admin's DM: Deputy stopped acting for someone, and what that undid. */
export function departureNotice(summary: DepartureSummary): SlackMessage {
  const why = REASONS[summary.reason] ?? `left (${summary.reason})`;
  const text =
    `Deputy no longer acts for <@${summary.person.userId}>, who ${why}: ` +
    `${summary.credentialsArchived} credential${summary.credentialsArchived === 1 ? '' : 's'} archived, ` +
    `${summary.sessionsStopped} live session${summary.sessionsStopped === 1 ? '' : 's'} stopped. ` +
    'If they come back, they connect their accounts again.';
  return { text, blocks: [section(text)] };
}
