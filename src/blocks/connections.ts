import type { ActionsBlock, Button, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import type { ConnectorEntry, ConnectorLink, Revocation } from '../connections/connections-service.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import { confirmDialog, context, divider, header, section } from './elements.js';
import type { SlackMessage } from './messages.js';

/** Action ids of the connection buttons; listeners register on these. */
export const ConnectActions = {
  /** A link button: Slack still sends block_actions for it, which only needs an ack. */
  OpenLink: 'connect_open_link',
  PasteToken: 'connect_paste_token',
  Disconnect: 'connect_disconnect',
} as const;

/**
 * A link button's action id where several sit in one block (Slack refuses an action_id twice in a
 * block): `connect_open_link:<key>`. Listeners match both forms with `OPEN_LINK_ACTION`.
 */
export const openLinkActionId = (key: string) => `${ConnectActions.OpenLink}:${key}`;
export const OPEN_LINK_ACTION = /^connect_open_link(?::.*)?$/;
/** The same for Paste token buttons: `connect_paste_token:<key>`, matched with `PASTE_TOKEN_ACTION_ID`. */
export const pasteTokenActionId = (key: string) => `${ConnectActions.PasteToken}:${key}`;
export const PASTE_TOKEN_ACTION_ID = /^connect_paste_token(?::.*)?$/;

export const PASTE_TOKEN_CALLBACK = 'connect_paste_token_modal';
/** Block and action ids of the pasted token input; "token" in them keeps the value out of logs. */
export const PASTE_TOKEN_BLOCK = 'token_block';
export const PASTE_TOKEN_ACTION = 'token_value';

const STATE_TEXT = {
  connected: (e: ConnectorEntry) => `:white_check_mark: Connected since ${day(e.since)}`,
  needs_reconnect: () => ':warning: Needs reconnecting: its sign-in stopped working',
  not_connected: () => 'Not connected',
  unavailable: (e: ConnectorEntry) => `Unavailable: ${escapeMrkdwn(e.unavailableReason ?? 'not set up')}`,
};

function button(entry: ConnectorLink): Button | undefined {
  const { connector, state } = entry;
  if (state === 'unavailable') return undefined;
  if (state === 'connected') {
    return {
      type: 'button',
      action_id: ConnectActions.Disconnect,
      text: { type: 'plain_text', text: 'Disconnect' },
      value: connector.id,
      confirm: confirmDialog({
        title: `Disconnect ${connector.name}?`,
        text: `Agents will no longer be able to use your ${connector.name} account.`,
        confirm: 'Disconnect',
        deny: 'Keep',
        danger: true,
      }),
    };
  }
  const label = state === 'needs_reconnect' ? 'Reconnect' : 'Connect';
  if (connector.auth.type === 'static_token') {
    return {
      type: 'button',
      action_id: ConnectActions.PasteToken,
      text: { type: 'plain_text', text: label },
      value: connector.id,
      style: 'primary',
    };
  }
  if (!entry.link) return undefined;
  return {
    type: 'button',
    action_id: ConnectActions.OpenLink,
    text: { type: 'plain_text', text: label },
    url: entry.link,
    value: connector.id,
    style: 'primary',
  };
}

export function connectorRows(entries: ConnectorLink[]): KnownBlock[] {
  return entries.map((entry): SectionBlock => {
    const accessory = button(entry);
    return {
      type: 'section',
      block_id: `connector:${entry.connector.id}`,
      text: {
        type: 'mrkdwn',
        text: `*${escapeMrkdwn(entry.connector.name)}*\n${STATE_TEXT[entry.state](entry)}`,
      },
      ...(accessory ? { accessory } : {}),
    };
  });
}

/** `/agent connect`: every connector, this person's state for it, and one button each. */
export function connectMessage(entries: ConnectorLink[]): SlackMessage {
  const connected = entries.filter((e) => e.state === 'connected').length;
  return {
    text: `Your connections: ${connected} of ${entries.length} connected.`,
    blocks: [
      header('Your connections'),
      section(
        'Agents you run use *only your own* connected accounts. Tokens go straight into your personal vault.',
      ),
      divider(),
      ...connectorRows(entries),
      context('Connect links work once, for ten minutes, and only for you. Only you can see this.'),
    ],
  };
}

export function connectedNotice(connectorName: string): SlackMessage {
  const text = `:white_check_mark: ${connectorName} is connected. Agents you run can now use your ${connectorName} account; nobody else's agents can.`;
  return { text, blocks: [section(escapeMrkdwn(text))] };
}

/**
 * A disconnect's confirmation: the credential is gone from the vault, and what the provider said
 * about the token. Unless the provider confirmed, the message says it may still honour the token,
 * and how to end it there.
 */
export function disconnectedNotice(
  connectorName: string,
  outcome: { sessionsStopped: number; revocation: Revocation },
): SlackMessage {
  const { sessionsStopped, revocation } = outcome;
  const stopped =
    sessionsStopped > 0
      ? ` ${sessionsStopped} live session${sessionsStopped === 1 ? '' : 's'} that used it ${sessionsStopped === 1 ? 'was' : 'were'} stopped.`
      : '';
  const endItThere = `to end it now, remove Deputy's access in your ${connectorName} settings.`;
  const provider =
    revocation === 'revoked'
      ? `${connectorName} accepted Deputy's request to revoke the token.`
      : revocation === 'unconfirmed'
        ? `Deputy asked ${connectorName} to revoke the token, but it did not confirm: it may still honour the token until it expires; ${endItThere}`
        : `Deputy cannot revoke this token at ${connectorName}: it may still honour it until it expires; ${endItThere}`;
  const text = `${connectorName} is disconnected: its credential is gone from your vault, so no agent of yours can use it.${stopped} ${provider}`;
  return { text, blocks: [section(escapeMrkdwn(text))] };
}

export function catalogAccountConnectedNotice(connectorName: string): SlackMessage {
  const text = `:white_check_mark: ${connectorName}'s catalog account is connected. Deputy uses it only to list ${connectorName}'s tools on a schedule and before sessions start, so a tool that changes is held back before anyone's agent runs it. No agent ever uses it.`;
  return { text, blocks: [section(escapeMrkdwn(text))] };
}

export function connectFailedNotice(connectorName: string, reason: string): SlackMessage {
  const text = `Connecting ${connectorName} did not complete: ${reason} Nothing was saved.`;
  return { text, blocks: [section(escapeMrkdwn(text))] };
}

export function needsReconnectNotice(entry: ConnectorLink): SlackMessage {
  const text = `Your ${entry.connector.name} connection stopped working and needs reconnecting.`;
  const reconnect = button({ ...entry, state: 'needs_reconnect' });
  const actions: ActionsBlock | undefined = reconnect
    ? { type: 'actions', elements: [reconnect] }
    : undefined;
  return { text, blocks: [section(`:warning: ${escapeMrkdwn(text)}`), ...(actions ? [actions] : [])] };
}

/** An agent now writes with a connection granted read access alone: reconnect to grant write. */
export function widerAccessNotice(entry: ConnectorLink, agentName: string): SlackMessage {
  const text = `The agent ${agentName} now writes to ${entry.connector.name} for you, but your connection allows reading only. Reconnect to allow writing; until then it keeps reading.`;
  const reconnect = button({ ...entry, state: 'needs_reconnect' });
  return {
    text,
    blocks: [
      section(escapeMrkdwn(text)),
      ...(reconnect ? [{ type: 'actions' as const, elements: [reconnect] }] : []),
    ],
  };
}

/** The modal for a pasted token; `private_metadata` names the connector (validated on return). */
export function pasteTokenModal(connector: { id: string; name: string; help?: string }): ModalView {
  return {
    type: 'modal',
    callback_id: PASTE_TOKEN_CALLBACK,
    private_metadata: JSON.stringify({ connectorId: connector.id }),
    title: { type: 'plain_text', text: 'Connect with a token' },
    submit: { type: 'plain_text', text: 'Connect' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `Paste your *${escapeMrkdwn(connector.name)}* token. It goes straight into your personal vault; Deputy does not keep it and nobody else's agents can use it.`,
      ),
      ...(connector.help ? [context(escapeMrkdwn(connector.help))] : []),
      {
        type: 'input',
        block_id: PASTE_TOKEN_BLOCK,
        label: { type: 'plain_text', text: 'Token' },
        element: { type: 'plain_text_input', action_id: PASTE_TOKEN_ACTION, min_length: 8, max_length: 3000 },
      },
    ],
  };
}

const day = (iso?: string) => (iso ? iso.slice(0, 10) : 'recently');
