import { z } from 'zod';
import { badRequest } from './errors.js';
import type { StoredEvent } from './event-log.js';
import { paginate } from './pagination.js';
import { timeFilter } from './query.js';
import { RESPONDED, type Router } from './router.js';
import { budgetReached } from './runtime.js';
import { SseConnection } from './sse.js';
import type { EmulatorState, SessionRecord } from './store.js';
import { parseBody } from './validation.js';

const textBlock = z.strictObject({ type: z.literal('text'), text: z.string() });
const contentBlock = z.discriminatedUnion('type', [
  textBlock,
  z.looseObject({ type: z.literal('image'), source: z.looseObject({ type: z.string() }) }),
  z.looseObject({ type: z.literal('document'), source: z.looseObject({ type: z.string() }) }),
  z.strictObject({ type: z.literal('redacted') }),
]);

export const userMessageSchema = z.strictObject({
  type: z.literal('user.message'),
  content: z.array(contentBlock).min(1),
});

const toolConfirmationSchema = z.strictObject({
  type: z.literal('user.tool_confirmation'),
  tool_use_id: z.string().min(1),
  result: z.enum(['allow', 'deny']),
  deny_message: z.string().max(10_000).nullish(),
});

const eventParams = z.discriminatedUnion('type', [
  userMessageSchema,
  toolConfirmationSchema,
  z.strictObject({ type: z.literal('user.interrupt'), session_thread_id: z.string().nullish() }),
  z.looseObject({ type: z.literal('user.custom_tool_result'), custom_tool_use_id: z.string() }),
  z.looseObject({ type: z.literal('user.tool_result'), tool_use_id: z.string() }),
  z.looseObject({ type: z.literal('user.define_outcome') }),
  z.strictObject({ type: z.literal('system.message'), content: z.array(textBlock).min(1) }),
]);
type EventParams = z.infer<typeof eventParams>;

const sendSchema = z.strictObject({ events: z.array(eventParams).min(1).max(50) });

export const EVENT_LIST_LIMITS = { defaultLimit: 1000, maxLimit: 1000 } as const;

/** Rejects a batch before any of it is applied: a send is all or nothing. */
function checkBatch(record: SessionRecord, events: readonly EventParams[]): void {
  const confirmed = new Set<string>();
  events.forEach((event, i) => {
    const at = `events.${i}`;
    switch (event.type) {
      case 'user.message':
        // A session at its spend ceiling takes no more work until the budget is raised.
        if (budgetReached(record)) throw badRequest(`${at}: the session has reached its budget`);
        break;
      case 'user.tool_confirmation':
        if (event.deny_message != null && event.result !== 'deny') {
          throw badRequest(`${at}.deny_message: only allowed when result is "deny"`);
        }
        if (!record.runner.awaitsConfirmation(event.tool_use_id) || confirmed.has(event.tool_use_id)) {
          throw badRequest(`${at}.tool_use_id: ${event.tool_use_id} is not a tool use awaiting confirmation`);
        }
        confirmed.add(event.tool_use_id);
        break;
      case 'user.custom_tool_result':
        throw badRequest(
          `${at}.custom_tool_use_id: ${event.custom_tool_use_id} is not a pending custom tool use`,
        );
      case 'user.tool_result':
        throw badRequest(`${at}: user.tool_result is only accepted by self_hosted environments`);
      case 'user.define_outcome':
        throw badRequest(`${at}: user.define_outcome is not supported`);
      case 'system.message':
        if (record.runner.hasPendingConfirmations()) {
          throw badRequest(`${at}: system.message cannot be sent while the session requires action`);
        }
        break;
    }
  });
}

function apply(record: SessionRecord, event: EventParams): StoredEvent {
  const { log, runner } = record;
  switch (event.type) {
    case 'user.message': {
      const echo = log.append({ type: 'user.message', content: event.content }, { queued: true });
      runner.enqueueMessage(echo);
      return echo;
    }
    case 'user.tool_confirmation': {
      const echo = log.append(
        {
          type: 'user.tool_confirmation',
          tool_use_id: event.tool_use_id,
          result: event.result,
          ...(event.deny_message != null ? { deny_message: event.deny_message } : {}),
        },
        { queued: true },
      );
      log.markProcessed(echo.id);
      runner.confirm(event.tool_use_id, { result: event.result, deny_message: event.deny_message ?? null });
      return echo;
    }
    case 'user.interrupt': {
      const echo = log.append({ type: 'user.interrupt' }, { queued: true });
      log.markProcessed(echo.id);
      runner.interrupt();
      return echo;
    }
    case 'system.message': {
      // Recorded for the agent's context; the scripted agent does not act on it.
      const echo = log.append({ type: 'system.message', content: event.content }, { queued: true });
      log.markProcessed(echo.id);
      return echo;
    }
    default:
      throw badRequest(`${event.type} is not supported`);
  }
}

export function registerEventRoutes(router: Router, state: EmulatorState, heartbeatMs: number): void {
  router.on('GET', '/v1/sessions/:session_id/events', ({ params, query }) => {
    const record = state.session(params.session_id ?? '');
    const types = query.list('types');
    // Time filters on events apply to processed_at.
    const processed = timeFilter(query, 'created_at');
    const entries = record.log
      .history()
      .filter((e) => (types.length === 0 || types.includes(e.event.type)) && processed(e.event.processed_at));
    const page = paginate(entries, query, { order: query.order('asc'), ...EVENT_LIST_LIMITS });
    return { ...page, data: page.data.map((e) => structuredClone(e.event)) };
  });

  router.on('POST', '/v1/sessions/:session_id/events', ({ params, body }) => {
    const record = state.writableSession(params.session_id ?? '');
    const { events } = parseBody(sendSchema, body);
    checkBatch(record, events);
    return { data: events.map((event) => apply(record, event)) };
  });

  router.on('GET', '/v1/sessions/:session_id/events/stream', ({ params, query, res }) => {
    const record = state.session(params.session_id ?? '');
    const connection = new SseConnection(res, new Set(query.list('event_deltas')), heartbeatMs);
    if (record.value.status === 'terminated') {
      connection.close();
      return RESPONDED;
    }
    const unsubscribe = record.log.subscribe(connection);
    connection.onClose(unsubscribe);
    return RESPONDED;
  });
}
