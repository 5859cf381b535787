import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { principalFromEvent } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

const changed = z.object({ event: z.object({ user: z.object({ deleted: z.boolean().optional() }) }) });

/**
 * `user_change`: a person deactivated (or removed from the workspace) is someone Deputy no longer
 * acts for; one reactivated may use Deputy again, connecting from scratch.
 */
export function userChange({ people }: Pick<Surfaces, 'people'>) {
  return async ({ body, context }: SlackEventMiddlewareArgs<'user_change'> & AllMiddlewareArgs) => {
    const parsed = changed.safeParse(body);
    const person = principalFromEvent(body);
    if (!parsed.success || !person) return;
    const correlationId = String(context.correlationId);
    if (parsed.data.event.user.deleted === true) await people.departed(person, 'deactivated', correlationId);
    else await people.returned(person, correlationId);
  };
}
