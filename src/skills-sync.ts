import Anthropic from '@anthropic-ai/sdk';
import { SkillSync, type SyncReport } from './agents/skills.js';
import { systemClock } from './clock.js';
import { withLiveDeployment } from './deployment-setup.js';
import { openStore } from './store/index.js';

/** Where skills live unless `--dir` says otherwise: the `skills/` folder of the checkout. */
export const DEFAULT_SKILLS_FOLDER = new URL('../skills', import.meta.url).pathname;

/**
 * `npm run skills:sync`: uploads the skills folder's new and changed skills to the Claude Platform
 * (see SkillSync) with this environment's configuration, and says what it did.
 */
export async function runSkillsSync(options: {
  environment: NodeJS.ProcessEnv;
  folder: string;
  dryRun: boolean;
  prune: boolean;
}): Promise<SyncReport> {
  return withLiveDeployment(options.environment, async ({ config, external, dynamo }) => {
    const store = await openStore(dynamo, config.storage.tablePrefix, systemClock);
    const sync = new SkillSync({ anthropic: new Anthropic(external.anthropic), store, clock: systemClock });
    return sync.sync(options.folder, { dryRun: options.dryRun, prune: options.prune });
  });
}
