import type { HomeView } from '@slack/types';
import type { HomeState } from '../connections/notices.js';
import { adminOverviewBlocks } from './audit.js';
import { usageOverviewBlocks } from './budgets.js';
import { connectorRows } from './connections.js';
import { divider, header, section } from './elements.js';
import { adminPeopleSection } from './people.js';
import { personalHomeBlocks } from './sessions.js';

/**
 * The Home tab: the person's connections, their agents, waiting calls and recent sessions, and, for
 * an admin, the people picker, the activity and the usage sections.
 */
export function homeView(home: HomeState): HomeView {
  return {
    type: 'home',
    blocks: [
      header('Deputy'),
      section(
        'Claude agents that act only with *your* connected accounts. Use `/agent help` anywhere in Slack.',
      ),
      divider(),
      header('Your connections'),
      ...connectorRows(home.entries),
      ...(home.personal ? personalHomeBlocks(home.personal) : []),
      ...(home.admin ? adminPeopleSection() : []),
      ...(home.overview ? adminOverviewBlocks(home.overview) : []),
      ...(home.overview?.usage ? usageOverviewBlocks(home.overview.usage) : []),
    ],
  };
}
