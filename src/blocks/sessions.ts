import type { ActionsBlock, Button, KnownBlock, ModalView } from '@slack/types';
import type { Principal } from '../identity/principal.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import { redact } from '../redact.js';
import { stoppedAtCeiling } from '../sessions/notices.js';
import type { RaiseCeilingOutcome } from '../sessions/session-service.js';
import type { ToolCallDetail } from '../sessions/tool-results.js';
import type { Approval, SessionRecord, SessionStatus, StandingRefusal } from '../store/index.js';
import { INPUT_ACTION } from './agents.js';
import { dollars } from './budgets.js';
import { ConnectActions, openLinkActionId, pasteTokenActionId } from './connections.js';
import { context, divider, header, input, section, sectionsOf, truncate } from './elements.js';
import { plainText, type SlackMessage } from './messages.js';

/** The answer to a click on someone else's session. */
export const NOT_YOURS_TO_STEER =
  'Only the person who started this session can do that. Nothing was changed.';

/** The answer to a click that did not come from the message Deputy posted for it. */
export const NOT_FROM_ITS_MESSAGE =
  'This click did not come from the message Deputy posted for it, so nothing was changed.';

/** Action ids of the session buttons; listeners register on these. */
export const SessionActions = {
  Approve: 'session_approve',
  Deny: 'session_deny',
  ApproveFor15: 'session_approve_15m',
  ApproveAll: 'session_approve_all',
  Stop: 'session_stop',
  /** Stop on the list of live sessions a refused run shows (issue 19). */
  StopLive: 'session_stop_live',
  Share: 'session_share',
  RunWithout: 'session_run_without',
  /** On a progress message: the session's tool calls with their raw results, in a modal. */
  ToolResults: 'session_tool_results',
} as const;

const STATUS_TEXT: Record<SessionStatus, string> = {
  running: ':gear: running',
  idle: ':white_check_mark: done; reply in this thread to follow up',
  waiting: ':raised_hand: waiting for your approval',
  done: ':black_square_for_stop: ended; it takes no more replies',
};

const button = (actionId: string, text: string, value: string, style?: 'primary' | 'danger'): Button => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text },
  value,
  ...(style ? { style } : {}),
});

/**
 * The thread root in the owner's DM: agent, prompt and status, with Stop while it runs and, once a
 * turn is done, Share to channel (when `shareable`: run from a channel) until it was shared.
 */
/** How a turn that stopped short of its end is shown instead of "done". */
const STOP_TEXT: Record<Exclude<NonNullable<SessionRecord['lastStop']>, 'end_turn'>, string> = {
  interrupted: ':octagonal_sign: stopped before it finished',
  budget_reached: ':money_with_wings: stopped at its spend ceiling',
  retries_exhausted: ':warning: stopped: it gave up after retrying',
  refusal: ':no_entry: stopped: the agent declined',
};

type StatusShown = Pick<
  SessionRecord,
  'status' | 'lastStop' | 'lastDenied' | 'ceiling' | 'ceilingRaisedAt' | 'finishedAt' | 'archivedAt'
>;

function statusText(session: StatusShown): string {
  if (session.archivedAt) return ':file_cabinet: archived after resting; start a new run to go on';
  if (session.status === 'idle' && session.lastStop === 'budget_reached' && !stoppedAtCeiling(session))
    return `:money_with_wings: ceiling raised${session.ceiling ? ` to ${money(session.ceiling)}` : ''}; reply in this thread to go on`;
  if (session.status === 'idle' && session.lastStop && session.lastStop !== 'end_turn')
    return `${STOP_TEXT[session.lastStop]}; reply in this thread to follow up`;
  // Done, but not all it set out to do: said on the root, not only in the thread (issue 20).
  if (session.status === 'idle' && session.lastDenied)
    return `:white_check_mark: done without ${session.lastDenied === 1 ? 'the tool call that was denied' : `the ${session.lastDenied} tool calls that were denied`}; reply in this thread to follow up`;
  return STATUS_TEXT[session.status];
}

export function sessionRootMessage(
  session: StatusShown & Pick<SessionRecord, 'agentName' | 'prompt' | 'sessionId' | 'channelId' | 'sharedTs'>,
  options: { shareable: boolean },
): SlackMessage {
  const running = session.status === 'running' || session.status === 'waiting';
  const text = `Agent ${session.agentName}: ${statusText(session)}`;
  const buttons = running
    ? [button(SessionActions.Stop, 'Stop', session.sessionId, 'danger')]
    : options.shareable && !session.sharedTs
      ? [button(SessionActions.Share, 'Share to channel', session.sessionId)]
      : [];
  return {
    text,
    blocks: [
      section(
        `*${escapeMrkdwn(session.agentName)}* · ${statusText(session)}\n>${escapeMrkdwn(truncate(session.prompt, 1500)).replace(/\n/g, '\n>')}`,
      ),
      ...(buttons.length > 0 ? [{ type: 'actions', elements: buttons } satisfies ActionsBlock] : []),
      ...(session.sharedTs ? [context(`Shared in <#${session.channelId}>.`)] : []),
      context('Runs with *your* connected accounts only. Replies in this thread go to the agent.'),
    ],
  };
}

/** A tool call held for a decision: server, tool and arguments (long values cut, secret-looking ones masked). */
export function approvalMessage(
  approval: Pick<Approval, 'approvalId' | 'server' | 'tool' | 'argumentsHash'>,
  input: unknown,
): SlackMessage {
  const cut = { cut: false };
  const full = fieldsText(shorten(redact(input), cut));
  const shown = escapeMrkdwn(truncate(full, 2700)).replace(/```/g, "'''");
  const notes = [
    cut.cut || full.length > 2700 ? 'Some values are shortened here.' : undefined,
    'Secret-looking values are masked.',
    `Arguments fingerprint \`${approval.argumentsHash.slice(0, 12)}\`: approving allows exactly these.`,
  ].filter(Boolean);
  const text = `${approval.server} wants to run ${approval.tool}. Approve?`;
  return {
    text,
    blocks: [
      section(
        `:raised_hand: *${escapeMrkdwn(approval.server)}* wants to run *${escapeMrkdwn(approval.tool)}* with:`,
      ),
      section(`\`\`\`${shown}\`\`\``),
      context(notes.join(' ')),
      {
        type: 'actions',
        block_id: `approval:${approval.approvalId}`,
        elements: [
          button(SessionActions.Approve, 'Approve', approval.approvalId, 'primary'),
          button(SessionActions.Deny, 'Deny', approval.approvalId, 'danger'),
          button(SessionActions.ApproveFor15, 'Approve for 15 minutes', approval.approvalId),
        ],
      },
      context('“Approve for 15 minutes” lets this tool run without asking in this session for 15 minutes.'),
    ],
  };
}

/**
 * The approval message once settled: the buttons are gone; the outcome and who decided remain, or
 * why it no longer waits.
 */
export function decidedMessage(
  approval: Pick<Approval, 'server' | 'tool' | 'status' | 'decidedBy' | 'closedReason'>,
): SlackMessage {
  const outcome =
    approval.status === 'allowed'
      ? `:white_check_mark: Approved by <@${approval.decidedBy}>`
      : approval.status === 'denied'
        ? `:no_entry: Denied by <@${approval.decidedBy}>`
        : approval.status === 'expired'
          ? ':hourglass: Expired: nobody decided in time, so it was denied'
          : `:heavy_minus_sign: No longer waiting: ${approval.closedReason === 'session_ended' ? 'the agent stopped' : 'the agent moved on'} before this was carried out, so it did not run`;
  const text = `${approval.server} ${approval.tool}: ${outcome}`;
  return {
    text,
    blocks: [section(`*${escapeMrkdwn(approval.server)}* · *${escapeMrkdwn(approval.tool)}*: ${outcome}`)],
  };
}

export function approveAllMessage(sessionId: string, count: number): SlackMessage {
  const text = `${count} tool calls are waiting for you.`;
  return {
    text,
    blocks: [
      section(text),
      {
        type: 'actions',
        elements: [button(SessionActions.ApproveAll, `Approve all ${count}`, sessionId, 'primary')],
      },
    ],
  };
}

/** A run whose start was cut short made no session: the person may run it again. */
export function runDidNotStartMessage(agentName: string, prompt: string): SlackMessage {
  const text = `Your run of ${agentName} did not start: Deputy was interrupted before the session was created. Nothing ran; run it again with /agent run.`;
  return {
    text,
    blocks: [section(`${escapeMrkdwn(text)}\n>${escapeMrkdwn(truncate(prompt, 500)).replace(/\n/g, '\n>')}`)],
  };
}

/** A provider refused the person's connection mid-session: a Reconnect button in the thread. */
export function reconnectInThreadMessage(
  connector: { id: string; name: string },
  link: string,
): SlackMessage {
  const text = `${connector.name} did not accept your connection. Reconnect it, then reply here to try again.`;
  return {
    text,
    blocks: [
      ...plainMessage(text).blocks,
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: ConnectActions.OpenLink,
            text: { type: 'plain_text', text: truncate(`Reconnect ${connector.name}`, 75) },
            url: link,
            value: connector.id,
          },
        ],
      },
    ],
  };
}

export function problemMessage(description: string): SlackMessage {
  return plainMessage(`The agent hit a problem: ${description}`);
}

export function ranUnderGrantMessage(approval: Pick<Approval, 'server' | 'tool'>): SlackMessage {
  return plainText(`Ran ${approval.server} ${approval.tool} under your 15-minute approval.`);
}

/**
 * How much of an answer a message carries whole: Slack's limit for a `markdown` block, kept here in
 * section blocks (whose mrkdwn Deputy escapes, so an agent cannot mention or link).
 */
export const ANSWER_INLINE_MAX = 12_000;

/** A file for a thread: its name, title and text (sent as it is: a file is not read as mrkdwn). */
export interface ThreadFile {
  filename: string;
  title: string;
  content: string;
}

/**
 * A long answer in numbered messages of at most ANSWER_INLINE_MAX characters each: what goes to the
 * thread when Slack would not take it as a file (so it still arrives whole).
 */
export function answerPartsMessages(answer: string): SlackMessage[] {
  const parts: string[] = [];
  for (let at = 0; at < answer.length; at += ANSWER_INLINE_MAX)
    parts.push(answer.slice(at, at + ANSWER_INLINE_MAX));
  return parts.map((part, index) => {
    const label = `(the whole answer, part ${index + 1} of ${parts.length}: it could not be attached as a file)`;
    return {
      text: truncate(`${label} ${part}`, 300),
      blocks: [context(label), ...sectionsOf(escapeMrkdwn(part))],
    };
  });
}

/**
 * An agent's answer as it goes to its thread, never cut unsaid: whole in the message up to
 * ANSWER_INLINE_MAX characters; past that, the message holds its opening and says so, and the whole
 * answer follows as a file. The message's `text` (for notifications) is its opening.
 */
export function agentAnswer(
  answer: string,
  agentName: string,
  steps: readonly string[] = [],
  sessionId?: string,
): { message: SlackMessage; file?: ThreadFile } {
  const sections = sectionsOf(withPeopleShown(escapeMrkdwn(answer)));
  const before = steps.length > 0 ? [stepsContext(steps)] : [];
  // Steps carried here stand for a progress message: its Tool results button comes with them.
  const after: KnownBlock[] = steps.length > 0 && sessionId ? [toolResultsActions(sessionId)] : [];
  if (answer.length <= ANSWER_INLINE_MAX)
    return { message: { text: truncate(answer, 300), blocks: [...before, ...sections, ...after] } };
  const filename = `${agentName}-answer.md`;
  return {
    message: {
      text: truncate(answer, 300),
      blocks: [
        ...before,
        ...sections.slice(0, 1),
        context(
          `The answer goes on: it is ${answer.length.toLocaleString('en')} characters, more than a Slack message holds, so all of it is in ${escapeMrkdwn(filename)} below.`,
        ),
        ...after,
      ],
    },
    file: { filename, title: `${agentName}: the whole answer`, content: answer },
  };
}

/**
 * An escaped answer with the people it names (`<@U…>`, as the Slack context it was given names
 * them) shown as Slack shows people, by name. Only in the owner's DM: a mention there notifies
 * nobody else, as nobody else is in it; links, channels and @here stay escaped, and a shared
 * result keeps every mention escaped (in a channel it would notify).
 */
function withPeopleShown(escaped: string): string {
  return escaped.replace(/&lt;@([UW][A-Z0-9_]{1,30})&gt;/g, '<@$1>');
}

/** How much of a context element the steps before an answer take (Slack's limit is 3,000). */
const STEPS_TEXT_MAX = 2_900;

/**
 * The progress lines an answer carries when they were not posted on their own (Slack's limits were
 * tight): the latest that fit, and how many earlier ones there were.
 */
function stepsContext(steps: readonly string[]): KnownBlock {
  const kept: string[] = [];
  let length = 0;
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const line = steps[i] as string;
    if (length + line.length + 1 > STEPS_TEXT_MAX) break;
    kept.unshift(line);
    length += line.length + 1;
  }
  const omitted = steps.length - kept.length;
  return context(
    [...(omitted ? [`…and ${omitted} earlier step${omitted === 1 ? '' : 's'}`] : []), ...kept].join('\n'),
  );
}

/** Sections a shared result may take (with its heading and note, well within 50 blocks). */
const SHARED_SECTIONS_MAX = 12;

/** Why a turn stopped short, said in its thread (the root message shows it too). */
export function turnStoppedMessage(
  stop: Exclude<keyof typeof STOP_TEXT, 'interrupted'>,
  cost: Pick<SessionRecord, 'listCost' | 'ceiling'>,
  sessionId: string,
): SlackMessage {
  const spent =
    cost.listCost && cost.ceiling
      ? ` (${money(cost.listCost)} spent, ceiling ${money(cost.ceiling)})`
      : cost.listCost
        ? ` (${money(cost.listCost)} spent)`
        : '';
  const why = {
    budget_reached: `The agent stopped at its spend ceiling for this session${spent}. ${RAISE_HINT(sessionId)}`,
    retries_exhausted: 'The agent stopped: a request kept failing and it gave up after retrying.',
    refusal: 'The agent declined to go on with this request.',
  }[stop];
  return plainText(why);
}

/** An amount in minor units (cents) as a person reads it: $0.25, or 0.25 and the currency's code. */
function money(amount: { amount: string; currency: string }): string {
  if (amount.currency === 'USD') return dollars(Number(amount.amount));
  return `${(Number(amount.amount) / 100).toFixed(2)} ${amount.currency}`;
}

/** The owner's result, shared to the channel the session ran from (cut, and saying so, past 12 sections). */
export function sharedResultMessage(owner: Principal, agentName: string, resultText: string): SlackMessage {
  const sections = sectionsOf(escapeMrkdwn(resultText));
  const shown = sections.slice(0, SHARED_SECTIONS_MAX);
  const shownLength = shown.reduce((n, b) => n + (b.text?.text.length ?? 0), 0);
  return {
    text: `<@${owner.userId}> shared a result from ${agentName}`,
    blocks: [
      section(`<@${owner.userId}> shared a result from *${escapeMrkdwn(agentName)}*:`),
      ...shown,
      ...(sections.length > shown.length
        ? [
            context(
              `The result goes on past here (${shownLength.toLocaleString('en')} of ${escapeMrkdwn(resultText).length.toLocaleString('en')} characters shown); <@${owner.userId}> has it whole in their DM with Deputy.`,
            ),
          ]
        : []),
    ],
  };
}

/**
 * A session's progress lines (already mrkdwn), with a button to the raw results of its tool calls:
 * the lines say in a few words what each call returned; the details are one click away.
 */
export function progressMessage(lines: readonly string[], sessionId: string): SlackMessage {
  const text = lines.join('\n');
  return {
    text,
    blocks: [...sectionsOf(text).slice(0, 45), toolResultsActions(sessionId)],
  };
}

function toolResultsActions(sessionId: string): ActionsBlock {
  return { type: 'actions', elements: [button(SessionActions.ToolResults, 'Tool results', sessionId)] };
}

/** How much of one call's raw result the details modal shows. */
const RESULT_DETAIL_MAX = 2_800;

/** The details behind the progress lines: each tool call, what came of it, and its raw result. */
export function toolResultsModal(agentName: string, calls: readonly ToolCallDetail[]): ModalView {
  const blocks: KnownBlock[] =
    calls.length === 0
      ? [section('_No tool calls yet._')]
      : calls.flatMap((c) => [
          section(`*${escapeMrkdwn(c.call)}* · ${c.outcome}`),
          ...(c.result
            ? [
                section(
                  `\`\`\`${escapeMrkdwn(truncate(c.result, RESULT_DETAIL_MAX)).replace(/```/g, "'''")}\`\`\``,
                ),
              ]
            : []),
        ]);
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Tool results' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [
      context(
        `What *${escapeMrkdwn(agentName)}*’s tool calls returned, as the tools gave it (the newest ${calls.length}; secret-looking values masked). Only you can see this.`,
      ),
      ...blocks.slice(0, 98),
    ],
  };
}

/** The answer to a Share that went: where, with a link to the shared message when Slack gave one. */
export function sharedAnswer(shared: { channelId: string; permalink?: string }): string {
  return `Shared in <#${shared.channelId}>${shared.permalink ? `: <${shared.permalink}|see it there>` : ''}.`;
}

/** How to go on past a session's ceiling: an admin raises it for this session (or a new run). */
const RAISE_HINT = (sessionId: string) =>
  `To go on, ask a Deputy admin to raise this session’s ceiling with \`/agent budget ${sessionId} AMOUNT_USD\`, then reply here; or start a new run.`;

/** The private answer to a reply in the thread of a session that has ended (terminated at Anthropic). */
export function endedReplyMessage(): SlackMessage {
  return plainText(
    'This session has ended, so it takes no more replies; nothing was sent. Start a new run with `/agent run` to go on.',
  );
}

/** The private answer to a reply in the thread of an archived session. */
export function archivedReplyMessage(): SlackMessage {
  return plainText(
    'This session was archived after a week without use, so it takes no more replies; nothing was sent. Start a new run with `/agent run` to go on.',
  );
}

/** The private answer to a reply in the thread of a session stopped at its spend ceiling. */
export function budgetReachedReplyMessage(sessionId: string): SlackMessage {
  return plainText(
    `This session stopped at its spend ceiling, so it cannot take your reply; nothing was sent. ${RAISE_HINT(sessionId)}`,
  );
}

/** Said in the session's thread when an admin raised its ceiling. */
export function ceilingRaisedMessage(
  admin: Principal,
  ceiling: { amount: string; currency: string },
  wasStopped: boolean,
): SlackMessage {
  return plainText(
    `<@${admin.userId}> raised this session’s spend ceiling to ${money(ceiling)}.${wasStopped ? ' Reply in this thread to go on.' : ''}`,
  );
}

/** The admin's answer to `/agent budget`. */
export function raiseCeilingMessage(outcome: RaiseCeilingOutcome): SlackMessage {
  switch (outcome.kind) {
    case 'not_admin':
      return plainText('Only a Deputy admin can raise a session’s spend ceiling. Nothing was changed.');
    case 'no_session':
      return plainText('Deputy has no session with that id in this workspace. Nothing was changed.');
    case 'ended':
      return plainText('That session has ended, so it runs no more turns. Nothing was changed.');
    case 'no_ceiling':
      return plainText(
        'That session was started without a spend ceiling, and a ceiling cannot be added afterwards. Nothing was changed.',
      );
    case 'not_raised':
      return plainText(
        `The new ceiling must be above what the session has spent${outcome.spent ? ` (${money(outcome.spent)})` : ''}${outcome.current ? ` and above its current ceiling (${money(outcome.current)})` : ''}. Nothing was changed.`,
      );
    case 'raised':
      return plainText(
        `Raised the spend ceiling of <@${outcome.session.principal.userId}>’s ${outcome.session.agentName} session to ${money(outcome.ceiling)}. They were told in its thread.`,
      );
  }
}

/** `/agent budget` without a session id and an amount in dollars. */
export function raiseCeilingUsageMessage(maxUsd: number): SlackMessage {
  return plainText(
    `Say which session and the new ceiling in US dollars, up to ${maxUsd.toLocaleString('en')}: \`/agent budget SESSION_ID 50\`. The session id is in the message that says it stopped at its ceiling.`,
  );
}

/** The private answer to someone who replied in a session's thread without being its person. */
export function steerRefusedMessage(owner: Principal): SlackMessage {
  return plainText(`Only <@${owner.userId}> can steer this agent; your reply was not sent to it.`);
}

/** A run that started: where to follow it, linked to its thread once it has one. */
export function sessionStartedMessage(
  agentName: string,
  where: { inDirectMessage: boolean; permalink?: string },
): SlackMessage {
  const agent = escapeMrkdwn(agentName);
  const link = (label: string) => (where.permalink ? `<${where.permalink}|${label}>` : label);
  const text = where.inDirectMessage
    ? `Started ${agent}; follow along in ${link('the thread')}.`
    : `Started ${agent}. Follow along in ${link('your DM with me')}; the result can be shared here when it is done.`;
  return { text, blocks: [section(text)] };
}

/** A session's state in a list, in a few words: what it is doing, or how its last turn ended. */
function listedStatus(session: StatusShown): string {
  if (session.archivedAt) return 'archived';
  if (session.status === 'running') return 'running';
  if (session.status === 'waiting') return 'waiting for your decision';
  if (session.status === 'done') return 'ended';
  switch (session.lastStop) {
    case 'interrupted':
      return 'stopped';
    case 'budget_reached':
      return stoppedAtCeiling(session) ? 'stopped at its spend ceiling' : 'ceiling raised, waiting for you';
    case 'retries_exhausted':
      return 'failed after retrying';
    case 'refusal':
      return 'declined';
    default:
      return session.lastDenied
        ? `done, ${session.lastDenied} tool call${session.lastDenied === 1 ? '' : 's'} denied`
        : 'done';
  }
}

type ListedSession = StatusShown & Pick<SessionRecord, 'agentName' | 'prompt' | 'permalink'>;

/** A session in a list: its agent, its state, and its prompt linked to its thread. */
export function sessionLine(s: ListedSession): string {
  const prompt = escapeMrkdwn(truncate(s.prompt.replace(/\s+/g, ' '), 80));
  const where = s.permalink ? `<${s.permalink}|${prompt}>` : `${prompt} (in your DM with me)`;
  return `• *${escapeMrkdwn(s.agentName)}* · ${listedStatus(s)} · ${where}`;
}

/** `/agent sessions`: the person's recent sessions, newest first: agent, state, prompt, and a link to each thread. */
export function recentSessionsMessage(sessions: ListedSession[]): SlackMessage {
  if (sessions.length === 0)
    return {
      text: 'You have no sessions yet.',
      blocks: [section('You have no sessions yet. Start one with `/agent run`.')],
    };
  const lines = sessions.map(sessionLine);
  return {
    text: `Your ${sessions.length} most recent sessions.`,
    blocks: [section(`*Your recent sessions*\n${lines.join('\n')}`)],
  };
}

/**
 * A run held for connections the person lacks: one Connect button per missing connector (a link for
 * OAuth, the paste-token form for a token), and Run without them.
 */
export function missingConnectionsMessage(
  agentName: string,
  missing: Array<{ id: string; name: string; link?: string }>,
  intentId: string,
): SlackMessage {
  const text = `${agentName} uses ${missing.map((m) => m.name).join(', ')}, which you have not connected.`;
  const blocks: KnownBlock[] = [
    section(
      `*${escapeMrkdwn(agentName)}* uses ${missing.map((m) => `*${escapeMrkdwn(m.name)}*`).join(', ')}, which you have not connected. Agents only ever use *your own* accounts.`,
    ),
    {
      type: 'actions',
      elements: [
        ...missing.map(
          (m, index): Button => ({
            type: 'button',
            text: { type: 'plain_text', text: `Connect ${truncate(m.name, 60)}` },
            ...(m.link
              ? { action_id: openLinkActionId(String(index)), url: m.link, value: m.name }
              : { action_id: pasteTokenActionId(String(index)), value: m.id }),
          }),
        ),
        button(SessionActions.RunWithout, 'Run without them', intentId),
      ],
    },
  ];
  return { text, blocks };
}

const STANDING_REFUSALS: Record<StandingRefusal, string> = {
  departed:
    'Deputy no longer acts for you: your account left this workspace or revoked Deputy, so your connections were removed. Nothing was started.',
  suspended:
    'A Deputy admin has suspended Deputy for you. Nothing was started; ask an admin if this is a mistake.',
  workspace_stopped:
    'Deputy is switched off in this workspace (it was removed or its access revoked). Nothing was started.',
};

/** Why Deputy did not act for someone it no longer acts for. */
export function standingRefusedMessage(refusal: StandingRefusal): SlackMessage {
  return plainMessage(STANDING_REFUSALS[refusal]);
}

export function plainMessage(text: string): SlackMessage {
  return { text, blocks: [section(escapeMrkdwn(text))] };
}

/**
 * A call's arguments as a person reads them (issue 20): one `name: value` line per field, what is
 * inside a field indented below it, list items after a dash; not JSON.
 */
function fieldsText(value: unknown, indent = ''): string {
  const composite = (v: unknown) => v !== null && typeof v === 'object';
  const line = (label: string, v: unknown) =>
    composite(v)
      ? `${indent}${label}\n${fieldsText(v, `${indent}  `)}`
      : `${indent}${label} ${scalarText(v, indent)}`;
  if (Array.isArray(value))
    return value.length === 0 ? `${indent}(none)` : value.map((v) => line('-', v)).join('\n');
  if (composite(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? `${indent}(none)` : entries.map(([k, v]) => line(`${k}:`, v)).join('\n');
  }
  return `${indent}${scalarText(value, indent)}`;
}

/** A value as text: a string as it is (its later lines indented under the field), "" when empty. */
function scalarText(value: unknown, indent: string): string {
  if (typeof value !== 'string') return String(value);
  return value === '' ? '""' : value.replace(/\n/g, `\n${indent}  `);
}

/** Long strings cut to 200 characters and long lists to 20 items, so an approval fits a message; `cut` says if anything was. */
function shorten(value: unknown, cut: { cut: boolean }, depth = 0): unknown {
  if (typeof value === 'string') {
    if (value.length > 200) cut.cut = true;
    return truncate(value, 200);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) {
    cut.cut = true;
    return '…';
  }
  if (Array.isArray(value)) {
    if (value.length > 20) cut.cut = true;
    const more = value.length > 20 ? [`… ${value.length - 20} more`] : [];
    return [...value.slice(0, 20).map((v) => shorten(v, cut, depth + 1)), ...more];
  }
  const entries = Object.entries(value);
  if (entries.length > 30) cut.cut = true;
  return Object.fromEntries(entries.slice(0, 30).map(([k, v]) => [k, shorten(v, cut, depth + 1)]));
}

/** The message shortcut's modal: its callback id and its inputs' block ids. */
export const RUN_ON_MESSAGE_CALLBACK = 'run_on_message';
export const RunOnMessageBlocks = { agent: 'run_agent', prompt: 'run_prompt' } as const;

/**
 * A modal that starts a run: what it says first, the inputs before the prompt, and the prompt (what
 * the agent should do, at most 3,000 characters); `metadata` comes back with the submission.
 */
function runModal(
  callbackId: string,
  metadata: Record<string, string>,
  intro: string,
  inputs: KnownBlock[],
  initialPrompt?: string,
): ModalView {
  return {
    type: 'modal',
    callback_id: callbackId,
    title: { type: 'plain_text', text: 'Run an agent' },
    submit: { type: 'plain_text', text: 'Run' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(metadata),
    blocks: [
      section(intro),
      ...inputs,
      input(RunOnMessageBlocks.prompt, 'What should it do?', {
        type: 'plain_text_input',
        action_id: INPUT_ACTION,
        multiline: true,
        max_length: 3000,
        ...(initialPrompt ? { initial_value: initialPrompt } : {}),
      }),
    ],
  };
}

/** "Run an agent on this message": which agent, and what it should do with the message. */
export function runOnMessageModal(agents: string[], pendingId: string): ModalView {
  const options = agents.slice(0, 100).map((name) => ({
    text: { type: 'plain_text' as const, text: truncate(name, 75) },
    value: name,
  }));
  return runModal(
    RUN_ON_MESSAGE_CALLBACK,
    { pendingId },
    'The agent runs as you, with this message as context, and answers in your DM with Deputy. Nothing is posted here unless you share it.',
    [
      input(RunOnMessageBlocks.agent, 'Agent', {
        type: 'static_select',
        action_id: INPUT_ACTION,
        options,
        ...(options[0] && options.length === 1 ? { initial_option: options[0] } : {}),
      }),
    ],
    'Summarise this message',
  );
}

/** The Home tab's Run button on an agent, and the modal it opens. */
export const HOME_RUN_ACTION = 'home_run_agent';
export const HOME_RUN_CALLBACK = 'home_run';

/**
 * The person's part of the Home tab (issue 20, item 2): the agents they may run, each with Run; their
 * recent sessions, linked; and the calls waiting for their decision, linked to where they decide.
 */
export function personalHomeBlocks(home: {
  agents: string[];
  sessions: ListedSession[];
  waiting: Array<{ session: ListedSession; approval: Pick<Approval, 'server' | 'tool'> }>;
}): KnownBlock[] {
  const agents: KnownBlock[] =
    home.agents.length === 0
      ? [section('_No agent you may run yet._')]
      : home.agents.slice(0, 15).map((name) => ({
          type: 'section',
          text: { type: 'mrkdwn', text: `*${escapeMrkdwn(name)}*` },
          accessory: button(HOME_RUN_ACTION, 'Run', name, 'primary'),
        }));
  const waiting = home.waiting.slice(0, 10).map(({ session, approval }) => {
    const call = escapeMrkdwn(`${approval.server}.${approval.tool}`);
    const where = session.permalink ? `<${session.permalink}|decide in its thread>` : 'decide in its thread';
    return `• \`${call}\` for *${escapeMrkdwn(session.agentName)}* · ${where}`;
  });
  return [
    divider(),
    header('Agents you can run'),
    ...agents,
    divider(),
    header('Waiting for your decision'),
    section(waiting.length > 0 ? waiting.join('\n') : '_Nothing waits for you._'),
    header('Your recent sessions'),
    section(home.sessions.length > 0 ? home.sessions.map(sessionLine).join('\n') : '_No sessions yet._'),
  ];
}

/** Run from the Home tab: what the agent should do (it answers in the person's DM with Deputy). */
export function homeRunModal(agentName: string): ModalView {
  return runModal(
    HOME_RUN_CALLBACK,
    { agentName },
    `*${escapeMrkdwn(agentName)}* runs as you, with your own accounts, and answers in your DM with Deputy.`,
    [],
  );
}
