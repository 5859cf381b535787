import type { KnownBlock } from '@slack/types';
import { AUDIT_SHOWN, type AuditQuery, type AuditSearch } from '../audit/audit-trail.js';
import type { AuditRecord } from '../store/index.js';
import { context, escapeMrkdwn, section, truncate } from './elements.js';
import { plainText, type SlackMessage } from './messages.js';

/** Lines per section: each well within a section's 3,000 characters. */
const LINES_PER_SECTION = 10;

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
  for (let i = 0; i < lines.length; i += LINES_PER_SECTION)
    blocks.push(section(lines.slice(i, i + LINES_PER_SECTION).join('\n')));
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

/** One record: when (in the reader's time zone), what, how it ended, who, on what. */
function recordLine(record: AuditRecord): string {
  const seconds = Math.floor(Date.parse(record.at) / 1000);
  const when = `<!date^${seconds}^{date_short} {time_secs}|${record.at}>`;
  const who = record.principalKey ? `<@${record.principalKey.split(':').at(-1)}>` : 'nobody known';
  const what = `\`${escapeMrkdwn(record.action)}\``;
  const outcome = record.outcome === 'success' ? '' : ` (${record.outcome})`;
  const details = record.details?.tool ? ` ${escapeMrkdwn(String(record.details.tool))}` : '';
  const target = record.target ? ` · ${escapeMrkdwn(truncate(record.target, 60))}` : '';
  return `${when} ${what}${outcome}${details} · ${who}${target}`;
}
