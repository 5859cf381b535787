import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import type { Surfaces } from '../index.js';

const groupId = z.string().regex(/^S[A-Z0-9_]{2,40}$/);
const membersChanged = z.object({ event: z.object({ subteam_id: groupId }) });
const updated = z.object({ event: z.object({ subteam: z.object({ id: groupId }) }) });

/**
 * `subteam_members_changed` and `subteam_updated`: a user group's members (who may run an agent, or
 * approve for one) changed, so the next check reads them from Slack instead of the cache.
 */
export function subteamChanged({ people }: Pick<Surfaces, 'people'>) {
  return async ({
    body,
  }: SlackEventMiddlewareArgs<'subteam_members_changed' | 'subteam_updated'> & AllMiddlewareArgs) => {
    const members = membersChanged.safeParse(body);
    const group = members.success
      ? members.data.event.subteam_id
      : updated.safeParse(body).data?.event.subteam.id;
    if (group) people.groupChanged(group);
  };
}
