import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { principalFromEvent } from '../../identity/principal.js';
import type { Services } from '../../services.js';

/** The Home tab shows the same connections as `/agent connect`, with fresh links each time it opens. */
export function appHomeOpened(services: Services) {
  return async ({ body, event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    const principal = principalFromEvent(body);
    if (principal) await services.notices.publishHome(principal);
  };
}
