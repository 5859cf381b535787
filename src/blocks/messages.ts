import type { KnownBlock, ModalView } from '@slack/types';
import { AUDIT_UNAVAILABLE_TEXT } from '../audit/audit-log.js';
import type { Principal } from '../identity/principal.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import type { ConnectionSummary, VaultState } from '../vaults/vault-service.js';
import { context, divider, fields, header, section, truncate } from './elements.js';

/** A message as ack/respond/chat methods take it: text is the notification and screen-reader fallback. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/**
 * The modal a command opens at once, inside Slack's 3 seconds for its trigger, while the work that
 * fills it (an admin check, store reads) goes on; the modal is then updated in place.
 */
export function loadingModal(title: string): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: truncate(title, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [section(':hourglass_flowing_sand: Loading…')],
  };
}

/** A modal opened for a command that turned out to have only an answer to give (a refusal, say). */
export function noticeModal(title: string, message: SlackMessage): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: truncate(title, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: message.blocks.length > 0 ? message.blocks : [section(escapeMrkdwn(message.text))],
  };
}

/** A message that is only text: the short private answers to a click. */
export function plainText(text: string): SlackMessage {
  return { text, blocks: [] };
}

/** The commands that exist today; each new subcommand adds its line here. */
const COMMANDS: Array<[usage: string, what: string]> = [
  [
    '/agent run [--agent NAME] PROMPT',
    'run an agent with your own connected accounts; output goes to your DM with Deputy',
  ],
  ['/agent sessions', 'your recent sessions and where they are'],
  ['/agent connect', 'connect your own accounts (Notion, GitHub, …) for agents to use on your behalf'],
  ['/agent status', 'who you are to Deputy, your credential vault, and your connections'],
  ['/agent agents', 'the agents you can run, their servers and what each tool may do'],
  ['/agent setup [name]', 'admins: create or edit an agent'],
  ['/agent servers', 'admins: the MCP servers agents may use'],
  ['/agent limits', 'admins: how many runs, connects, decisions and follow-ups one person may make'],
  ['/agent usage', 'what your agents cost you today and this month, and what your budget leaves'],
  [
    '/agent budgets [@person | agent NAME]',
    "admins: daily and monthly spend budgets, everyone's or one person's or agent's",
  ],
  ['/agent revoke @person', 'admins: archive every credential of theirs and stop their live sessions'],
  ['/agent suspend @person', 'admins: stop them running, connecting or approving (and their live sessions)'],
  ['/agent resume @person', 'admins: lift a suspension'],
  ['/agent force-reconnect CONNECTOR', 'admins: everyone connected to it must connect again'],
  ['/agent budget SESSION_ID USD', 'admins: raise a session’s spend ceiling so its owner can go on'],
  ['/agent audit', 'your own recent activity in the audit trail'],
  [
    '/agent audit @person | SESSION_ID | agent NAME',
    'admins: a person’s, a session’s or an agent’s audit trail',
  ],
  ['/agent forget-me', 'delete everything Deputy keeps about you (it asks first; audit records stay)'],
  ['/agent help', 'this message'],
];

export function helpMessage(intro?: string): SlackMessage {
  const lines = COMMANDS.map(([usage, what]) => `• \`${usage}\`: ${what}`).join('\n');
  return {
    text: intro ? `${intro} Try /agent help.` : 'Deputy: how to use /agent',
    blocks: [
      ...(intro ? [section(intro)] : []),
      section(
        '*Deputy* runs Claude agents for you in Slack, using only *your* connected accounts. ' +
          'Every person has their own credential vault; nobody else’s agent can use it.',
      ),
      section(lines),
    ],
  };
}

export function unknownSubcommandMessage(subcommand: string): SlackMessage {
  return helpMessage(
    `I don't know \`/agent ${escapeMrkdwn(truncate(subcommand, 40))}\`. Here is what I can do:`,
  );
}

export function tooLongMessage(length: number, limit: number): SlackMessage {
  const text = `That command is ${length.toLocaleString('en-US')} characters long; \`/agent\` takes at most ${limit.toLocaleString('en-US')}. Nothing was done.`;
  return { text, blocks: [section(text)] };
}

/** How a credential's kind is said to a person. */
const AUTH_TYPE: Record<string, string> = {
  mcp_oauth: 'signed in with OAuth',
  static_bearer: 'with a token',
};

/** A connection by name (Notion, GitHub); a credential made without one, by its server's host. */
function connectionName(connection: ConnectionSummary): string {
  if (connection.name) return connection.name;
  try {
    return new URL(connection.serverUrl).host;
  } catch {
    return connection.serverUrl;
  }
}

export function statusMessage(input: {
  principal: Principal;
  vault: VaultState;
  connections: ConnectionSummary[];
}): SlackMessage {
  const { principal, vault, connections } = input;
  const identity = [
    `*You*\n<@${principal.userId}>`,
    `*Workspace*\n\`${principal.teamId}\``,
    ...(principal.enterpriseId ? [`*Organization*\n\`${principal.enterpriseId}\``] : []),
    `*User ID*\n\`${principal.userId}\``,
  ];
  const vaultText =
    vault.kind === 'ready'
      ? `*Credential vault:* \`${vault.vaultId}\` ${vault.createdNow ? '(created for you just now)' : `(since ${day(vault.createdAt)})`}`
      : vault.kind === 'refused'
        ? `*Credential vault:* refused. The vault on record (\`${vault.vaultId}\`) does not belong to you, so Deputy will not use it. This has been recorded for the admins.`
        : `*Credential vault:* could not be checked right now. Please try again in a moment (reference \`${vault.reference}\`).`;
  const connectionText =
    connections.length === 0
      ? '*Connections:* none yet.'
      : `*Connections:*\n${connections.map((c) => `• *${escapeMrkdwn(connectionName(c))}* (${AUTH_TYPE[c.authType] ?? escapeMrkdwn(c.authType)}, since ${day(c.since)})`).join('\n')}`;
  return {
    text: `Your Deputy status: vault ${vault.kind === 'ready' ? 'ready' : vault.kind}, ${connections.length} connection(s).`,
    blocks: [
      header('Your Deputy status'),
      fields(...identity),
      divider(),
      section(vaultText),
      section(connectionText),
      context('Only you can see this.'),
    ],
  };
}

export function errorMessage(reference: string): SlackMessage {
  const text = `Something went wrong on Deputy's side. Reference: \`${reference}\`.`;
  return { text, blocks: [section(text)] };
}

/** An action refused because its audit record could not be written (security R46). */
export function auditUnavailableMessage(reference: string): SlackMessage {
  const text = `${AUDIT_UNAVAILABLE_TEXT} Reference: \`${reference}\`.`;
  return { text, blocks: [section(text)] };
}

/** A modal Slack would no longer open: its trigger lives 3 seconds and opens one modal. */
export function formTimedOutMessage(): SlackMessage {
  return plainText('Slack gives an app only 3 seconds to open a form, and they passed. Please try again.');
}

/** A request refused because Deputy is at its limit of work in progress. */
export function busyMessage(): SlackMessage {
  return plainText('Deputy is busy right now and did not take this. Please try again in a minute.');
}

const day = (iso: string) => iso.slice(0, 10);
