import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { homeView } from '../../blocks/home.js';
import { principalFromEvent } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';

/**
 * The Home tab shows the same connections as `/agent connect`, with fresh links each time it opens,
 * and to admins the kill switch for people.
 */
export function appHomeOpened({ connections, outbox }: Pick<Surfaces, 'connections' | 'outbox'>) {
  return async ({ body, event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    const principal = principalFromEvent(body);
    if (principal) await outbox.publishHome(principal.userId, homeView(await connections.home(principal)));
  };
}
