import type { KnownBlock } from '@slack/types';
import { type AdminOverview, AUDIT_SHOWN, type AuditQuery, type AuditSearch } from '../audit/audit-trail.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import type { AuditRecord } from '../store/index.js';
import { context, divider, header, SECTION_TEXT_MAX, section, truncate } from './elements.js';
import { plainText, type SlackMessage } from './messages.js';

/** What `/agent audit` shows: the records found, newest first, or why nothing is shown. */
export function auditSearchMessage(search: AuditSearch): SlackMessage {
  if (search.kind === 'not_admin')
    return plainText(
      'Only Deputy’s admins can search the audit trail. `/agent audit` on its own shows your own recent activity.',
    );
  const title = titleOf(search.query);
  if (search.records.length === 0) return plainText(`Nothing in the audit trail for ${title}.`);
  const lines = search.records.map(recordLine);
  const blocks: KnownBlock[] = [section(`*Audit trail: ${title}*, newest first`)];
  // Whole lines per section, each section within its 3,000 characters.
  let chunk: string[] = [];
  for (const line of lines) {
    if (chunk.length > 0 && [...chunk, line].join('\n').length > SECTION_TEXT_MAX) {
      blocks.push(section(chunk.join('\n')));
      chunk = [];
    }
    chunk.push(line);
  }
  if (chunk.length > 0) blocks.push(section(chunk.join('\n')));
  if (search.more)
    blocks.push(context(`The newest ${AUDIT_SHOWN}; \`npm run audit:export\` gives the whole trail.`));
  return { text: `Audit trail: ${title}`, blocks };
}

/** `/agent audit` text that names nothing it can search. */
export function auditUsageMessage(): SlackMessage {
  return plainText(
    '`/agent audit` shows your own recent activity. Admins can name a person (`/agent audit @person`), a session (`/agent audit sesn_…`) or an agent (`/agent audit agent NAME`).',
  );
}

function titleOf(query: AuditQuery): string {
  switch (query.kind) {
    case 'mine':
      return 'your recent activity';
    case 'person':
      return `<@${query.userId}>`;
    case 'session':
      return `session \`${escapeMrkdwn(query.sessionId)}\``;
    case 'agent':
      return `agent \`${escapeMrkdwn(query.name)}\``;
  }
}

/**
 * The admins' section of the Home tab (issue 18, item 5): recent sessions of everyone, the calls
 * waiting for a person, recent refusals and lifecycle events. Each list is one section of at most
 * OVERVIEW_SHOWN lines, well within a section's 3,000 characters.
 */
export function adminOverviewBlocks(overview: AdminOverview): KnownBlock[] {
  const list = (title: string, lines: string[]) => section(fitted(`*${title}*`, lines));
  return [
    divider(),
    header('Admin: activity'),
    list(
      'Recent sessions',
      overview.sessions.map(({ started, session }) => {
        const agent = escapeMrkdwn(String(started.details?.agent ?? 'an agent'));
        const state = session ? (session.archivedAt ? 'archived' : session.status) : 'record gone';
        return `${when(started.at)} ${who(started.principalKey)} ran *${agent}* · ${state}`;
      }),
    ),
    list(
      `Waiting for a decision (${overview.open} open)`,
      overview.pending.map(({ approval, owner }) => {
        const tool = escapeMrkdwn(`${approval.server}.${approval.tool}`);
        const expires = new Date(approval.expiresAtMs).toISOString();
        return `\`${tool}\` for <@${owner.userId}> · expires ${when(expires)}`;
      }),
    ),
    list('Recent refusals', overview.refusals.map(recordLine)),
    list('People, connections and agents', overview.lifecycle.map(recordLine)),
    context('`/agent audit @person`, `/agent audit sesn_…` or `/agent audit agent NAME` searches further.'),
  ];
}

/**
 * A list's title and as many whole lines as fit a section's 3,000 characters (escaped text can be
 * five times its length): the rest is left to `/agent audit`, never cut mid-entity.
 */
function fitted(title: string, lines: string[]): string {
  if (lines.length === 0) return `${title}\n_None._`;
  let text = title;
  for (const [shown, line] of lines.entries()) {
    const more = `\n_${lines.length - shown} more: /agent audit_`;
    if (text.length + 1 + line.length + more.length > SECTION_TEXT_MAX) return text + more;
    text += `\n${line}`;
  }
  return text;
}

/** A time as Slack shows it in the reader's time zone (the ISO text where it cannot). */
function when(iso: string): string {
  return `<!date^${Math.floor(Date.parse(iso) / 1000)}^{date_short} {time_secs}|${iso}>`;
}

/** The person a principal key names, as a mention Slack renders. */
function who(principalKey: string | undefined): string {
  return principalKey ? `<@${principalKey.split(':').at(-1)}>` : 'nobody known';
}

/** One record: when (in the reader's time zone), what, how it ended, who, on what. */
function recordLine(record: AuditRecord): string {
  const at = when(record.at);
  const what = `\`${escapeMrkdwn(record.action)}\``;
  const outcome = record.outcome === 'success' ? '' : ` (${record.outcome})`;
  // Cut before escaping would let an escape grow a line past its share of a section.
  const details = record.details?.tool ? ` ${escapeMrkdwn(truncate(String(record.details.tool), 60))}` : '';
  const target = record.target ? ` · ${escapeMrkdwn(truncate(record.target, 60))}` : '';
  return `${at} ${what}${outcome}${details} · ${who(record.principalKey)}${target}`;
}
