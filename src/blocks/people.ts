import type { DepartureSummary } from '../people/notices.js';
import type { AdminActOutcome } from '../people/people-service.js';
import { section } from './elements.js';
import { plainText, type SlackMessage } from './messages.js';

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

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** What an admin's revoke, suspend or resume did. */
export function adminActMessage(
  userId: string,
  outcome: Exclude<AdminActOutcome, { kind: 'not_admin' }>,
): SlackMessage {
  switch (outcome.kind) {
    case 'self':
      return plainText('That names you. Ask another admin if you mean it; nothing was changed.');
    case 'revoked':
      return plainText(
        `Revoked <@${userId}>: ${plural(outcome.credentialsArchived, 'credential')} archived, ${plural(outcome.sessionsStopped, 'live session')} stopped. They can connect again unless you suspend them.`,
      );
    case 'suspended':
      return plainText(
        `Suspended <@${userId}>: they cannot run, connect or approve until an admin resumes them; ${plural(outcome.sessionsStopped, 'live session')} stopped. Their connections are kept.`,
      );
    case 'resumed':
      return plainText(`Resumed <@${userId}>: Deputy acts for them again.`);
    case 'not_suspended':
      return plainText(`<@${userId}> is not suspended; nothing was changed.`);
  }
}

/** A kill-switch command that names nobody Deputy can tell apart. */
export function nameSomeoneMessage(act: string): SlackMessage {
  return plainText(`Name one person: /agent ${act} @person (a mention), or their member ID (U…).`);
}
