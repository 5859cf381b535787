import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { principalInEventWorkspace } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

const revoked = z.object({
  team_id: z.string(),
  event: z.object({
    tokens: z.object({
      oauth: z.array(z.string()).max(1000).optional(),
      bot: z.array(z.string()).max(100).optional(),
    }),
  }),
});

/**
 * `tokens_revoked`: people who revoked their authorization of Deputy (Sign in with Slack) are people
 * Deputy no longer acts for; a revoked bot token means Deputy can do nothing more in the workspace.
 */
export function tokensRevoked({ people }: Pick<Surfaces, 'people'>) {
  return async ({ body, context }: SlackEventMiddlewareArgs<'tokens_revoked'> & AllMiddlewareArgs) => {
    const parsed = revoked.safeParse(body);
    if (!parsed.success) return;
    const correlationId = String(context.correlationId);
    for (const userId of parsed.data.event.tokens.oauth ?? []) {
      const person = principalInEventWorkspace(body, userId);
      if (person) await people.departed(person, 'tokens_revoked', correlationId);
    }
    if ((parsed.data.event.tokens.bot ?? []).length > 0)
      await people.workspaceStopped(parsed.data.team_id, 'bot_token_revoked', correlationId);
  };
}
