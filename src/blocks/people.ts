import type { ActionsBlock, KnownBlock } from '@slack/types';
import { escapeMrkdwn } from '../mrkdwn.js';
import type { DepartureSummary } from '../people/notices.js';
import type { AdminActOutcome, ForceReconnectOutcome } from '../people/people-service.js';
import type { ForgetOutcome } from '../people/privacy-service.js';
import { confirmDialog, divider, header, section } from './elements.js';
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

/** A kill-switch click on the Home tab with nobody picked. */
export function pickSomeoneMessage(): SlackMessage {
  return plainText('Pick a person in the Admin section of the Home tab first; nothing was changed.');
}

/** A kill-switch command that names nobody Deputy can tell apart. */
export function nameSomeoneMessage(act: string): SlackMessage {
  return plainText(`Name one person: /agent ${act} @person (a mention), or their member ID (U…).`);
}

/** A force-reconnect command that names no connector. */
export function nameConnectorMessage(): SlackMessage {
  return plainText(
    'Name one connector: /agent force-reconnect CONNECTOR (its id, as /agent connect lists them, e.g. notion).',
  );
}

/** What an admin's "everyone reconnect" did. */
export function forceReconnectMessage(
  connectorId: string,
  outcome: Exclude<ForceReconnectOutcome, { kind: 'not_admin' }>,
): SlackMessage {
  if (outcome.kind === 'unknown_connector')
    return plainText(
      `There is no connector "${escapeMrkdwn(connectorId.slice(0, 40))}"; nothing was changed.`,
    );
  return plainText(
    `Everyone must reconnect ${outcome.connectorName}: ${plural(outcome.people, 'connection')} ended (credentials archived, tokens revoked where the provider allows), ${plural(outcome.sessionsStopped, 'live session')} stopped, and its catalog account disconnected. Each person was sent a Reconnect button.${outcome.failed > 0 ? ` ${plural(outcome.failed, 'connection')} could not be ended now: run this again to finish.` : ''}`,
  );
}

/** `/agent forget-me`: what it deletes and what it keeps, and a button behind a confirmation. */
export function forgetMeConfirmMessage(retentionDays: number): SlackMessage {
  const text =
    'Deputy can forget you: your live sessions stop, every credential in your vault is archived (and revoked at the provider where it allows), your vault and your memory store (what agents remember for you) are archived, and your connections, sessions, approvals and run requests are deleted, here and at Anthropic. ' +
    `Audit records about you are kept for their own retention period, so your organisation can still account for what was done in your name. Other records are purged ${retentionDays} days after last use anyway.`;
  return {
    text,
    blocks: [
      section(text),
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: PeopleActions.ForgetMe,
            text: { type: 'plain_text', text: 'Forget me' },
            style: 'danger',
            confirm: confirmDialog({
              title: 'Forget you?',
              text: 'This cannot be undone. You can connect and run again later, from scratch.',
              confirm: 'Forget me',
              deny: 'Cancel',
              danger: true,
            }),
          },
        ],
      },
    ],
  };
}

/** What forgetting did. */
export function forgottenMessage(outcome: ForgetOutcome): SlackMessage {
  if (outcome.kind === 'refused')
    return plainText(
      'Deputy does not act for you now (an admin suspended you, or you left); ask an admin. Nothing was deleted.',
    );
  const pending =
    outcome.sessionsPending > 0
      ? ` ${plural(outcome.sessionsPending, 'session')} still stopping ${outcome.sessionsPending === 1 ? 'is' : 'are'} deleted within minutes.`
      : '';
  return plainText(
    `Deputy has forgotten you: ${plural(outcome.credentialsArchived, 'credential')} archived, your vault archived, ${plural(outcome.sessionsDeleted, 'session')} deleted.${pending} Audit records are kept for their own retention period and say that you asked.`,
  );
}

/** The Home tab's admin section: pick a person, then revoke, suspend or resume them. */
export const PeopleActions = {
  Pick: 'people_pick',
  Revoke: 'people_revoke',
  Suspend: 'people_suspend',
  Resume: 'people_resume',
  ForgetMe: 'people_forget_me',
} as const;

/** The block holding the person picker, whose state a kill-switch click reads. */
export const PEOPLE_BLOCK = 'admin_people';

const CONFIRMS: Record<'revoke' | 'suspend', { title: string; text: string; confirm: string }> = {
  revoke: {
    title: 'Revoke this person?',
    text: 'Every credential in their vault is archived and their live sessions stop, now.',
    confirm: 'Revoke',
  },
  suspend: {
    title: 'Suspend this person?',
    text: 'They cannot run, connect or approve until an admin resumes them, and their live sessions stop.',
    confirm: 'Suspend',
  },
};

export function adminPeopleSection(): KnownBlock[] {
  const confirmed = (act: 'revoke' | 'suspend') =>
    confirmDialog({ ...CONFIRMS[act], deny: 'Cancel', danger: true });
  const actions: ActionsBlock = {
    type: 'actions',
    block_id: PEOPLE_BLOCK,
    elements: [
      {
        type: 'users_select',
        action_id: PeopleActions.Pick,
        placeholder: { type: 'plain_text', text: 'Pick a person' },
      },
      {
        type: 'button',
        action_id: PeopleActions.Revoke,
        text: { type: 'plain_text', text: 'Revoke' },
        style: 'danger',
        confirm: confirmed('revoke'),
      },
      {
        type: 'button',
        action_id: PeopleActions.Suspend,
        text: { type: 'plain_text', text: 'Suspend' },
        confirm: confirmed('suspend'),
      },
      { type: 'button', action_id: PeopleActions.Resume, text: { type: 'plain_text', text: 'Resume' } },
    ],
  };
  return [
    divider(),
    header('Admin: people'),
    section(
      'Only admins see this. *Revoke* archives every credential of the person and stops their live sessions; *Suspend* stops them running, connecting or approving until *Resume*.',
    ),
    actions,
  ];
}
