import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import type { Surfaces } from '../index.js';

const uninstalled = z.object({ team_id: z.string().min(1) });

/** `app_uninstalled`: Deputy was removed from the workspace, and does nothing more there. */
export function appUninstalled({ people }: Pick<Surfaces, 'people'>) {
  return async ({ body, context }: SlackEventMiddlewareArgs<'app_uninstalled'> & AllMiddlewareArgs) => {
    const parsed = uninstalled.safeParse(body);
    if (parsed.success)
      await people.workspaceStopped(parsed.data.team_id, 'app_uninstalled', String(context.correlationId));
  };
}
