import type { KnownBlock, ModalView, NumberInput } from '@slack/types';
import type { LimitHit } from '../limits/notices.js';
import { type CurrentLimits, MAX_RATE_LIMIT, type RateCheck } from '../limits/rate-limiter.js';
import { escapeMrkdwn } from '../mrkdwn.js';
import type { LimitedAction, SessionRecord } from '../store/index.js';
import { INPUT_ACTION } from './agents.js';
import { context, input, section, truncate } from './elements.js';
import { plainText, type SlackMessage } from './messages.js';
import { SessionActions } from './sessions.js';

/** Each limited action as a person reads it: what is counted, and what did not happen. */
const ACTIONS: Record<LimitedAction, { counted: string; notDone: string }> = {
  run: { counted: 'runs', notDone: 'nothing was started' },
  connect: { counted: 'connects', notDone: 'nothing was connected' },
  decide: { counted: 'approval decisions', notDone: 'nothing was decided' },
  follow_up: { counted: 'follow-ups', notDone: 'your message was not sent to the agent' },
};

/** What a person over a rate limit is told, privately: the limit, that nothing happened, when to try. */
export function rateLimitedText(limited: Extract<RateCheck, { kind: 'limited' }>): string {
  const { counted, notDone } = ACTIONS[limited.action];
  return `You reached Deputy's limit of ${limited.limit} ${counted} ${per(limited.window)}, so ${notDone}. Try again in ${waitText(limited.retryAfterSeconds)}.`;
}

export function rateLimitedMessage(limited: Extract<RateCheck, { kind: 'limited' }>): SlackMessage {
  return plainText(rateLimitedText(limited));
}

/** What the admins are told, once an hour per person, when someone keeps going past a limit. */
export function limitHitNotice(hit: LimitHit): SlackMessage {
  const { counted } = ACTIONS[hit.action];
  return plainText(
    `<@${hit.person.userId}> reached the limit of ${hit.limit} ${counted} ${per(hit.window)}. Deputy refused the rest; more refusals this hour are not reported again. /agent limits shows and changes the limits.`,
  );
}

const per = (window: 'minute' | 'hour') => (window === 'hour' ? 'an hour' : 'a minute');

function waitText(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} min`;
}

/** The limits modal's callback id and its inputs' block ids: `limit_<action>_<perMinute|perHour>`. */
export const LIMITS_CALLBACK = 'admin_limits';
export const LIMITED_ACTIONS = Object.keys(ACTIONS) as LimitedAction[];
export const limitBlockId = (action: LimitedAction, per: 'perMinute' | 'perHour') => `limit_${action}_${per}`;
/** The inputs of the live-session limits. */
export const liveBlockId = (per: 'perPerson' | 'perAgent') => `live_${per}`;

/** `/agent limits` (admins): each limited action's limit per minute and per hour, and the live-session limits, to change. */
export function limitsModal(current: CurrentLimits, notice?: string): ModalView {
  const blocks: KnownBlock[] = [
    section(
      'How many times one person may do each of these, and how many sessions may be live at once. Someone over a limit is told why and nothing happens; their first refusal in an hour is audited and told to the admins.',
    ),
    ...(notice ? [section(notice)] : []),
  ];
  for (const action of LIMITED_ACTIONS) {
    for (const per of ['perMinute', 'perHour'] as const) {
      const label = `${capitalised(ACTIONS[action].counted)} ${per === 'perMinute' ? 'per minute' : 'per hour'}`;
      blocks.push(input(limitBlockId(action, per), label, numberInput(current.limits[action][per])));
    }
  }
  blocks.push(
    input(liveBlockId('perPerson'), 'Live sessions per person', numberInput(current.live.perPerson)),
    input(
      liveBlockId('perAgent'),
      'Live sessions per agent, everyone together',
      numberInput(current.live.perAgent),
    ),
    context(current.version ? `Set by an admin (version ${current.version}).` : "Deputy's defaults."),
  );
  return {
    type: 'modal',
    callback_id: LIMITS_CALLBACK,
    title: { type: 'plain_text', text: 'Limits' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify({ version: current.version ?? 0 }),
    blocks,
  };
}

/** What an admin is told once the limits are saved. */
export function limitsSavedMessage({ limits, live }: CurrentLimits): SlackMessage {
  const lines = LIMITED_ACTIONS.map(
    (action) =>
      `${capitalised(ACTIONS[action].counted)}: ${limits[action].perMinute} a minute, ${limits[action].perHour} an hour`,
  );
  lines.push(`Live sessions: ${live.perPerson} per person, ${live.perAgent} per agent`);
  return plainText(`Limits saved.\n${lines.join('\n')}`);
}

/** A whole number from 1 to MAX_RATE_LIMIT, shown with its value now. */
function numberInput(value: number): NumberInput {
  return {
    type: 'number_input',
    action_id: INPUT_ACTION,
    is_decimal_allowed: false,
    min_value: '1',
    max_value: String(MAX_RATE_LIMIT),
    initial_value: String(value),
  };
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** A run (or a reply waking a session) refused at the live-session limit: what is live, with a Stop for each. */
export function tooManyLiveMessage(
  refusal: { scope: 'person' | 'agent'; limit: number; live: readonly SessionRecord[] },
  notDone = 'nothing was started',
): SlackMessage {
  if (refusal.scope === 'agent')
    return plainText(
      `This agent already has ${refusal.limit} sessions live for everyone, the most at once, so ${notDone}. Try again when one has finished.`,
    );
  const text = `You have ${refusal.limit} sessions live, the most at once, so ${notDone}. Stop one, or wait for one to finish, then try again.`;
  const blocks: KnownBlock[] = [section(escapeMrkdwn(text))];
  for (const session of refusal.live.slice(0, 20)) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${escapeMrkdwn(session.agentName)}* · ${session.status === 'waiting' ? 'waiting for a decision' : 'running'}\n${escapeMrkdwn(truncate(session.prompt, 200))}`,
      },
      accessory: {
        type: 'button',
        action_id: SessionActions.StopLive,
        value: session.sessionId,
        text: { type: 'plain_text', text: 'Stop' },
        style: 'danger',
      },
    });
  }
  return { text, blocks };
}
