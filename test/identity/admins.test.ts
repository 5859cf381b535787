import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { WebClient } from '@slack/web-api';
import { SlackEmulator } from '../../sandbox/slack/emulator.js';
import { ManualClock } from '../../src/clock.js';
import { AdminDirectory } from '../../src/identity/admins.js';
import { createLogger } from '../../src/logger.js';
import { SlackDirectory } from '../../src/slack/directory.js';

let slack: SlackEmulator;
beforeAll(async () => {
  slack = await SlackEmulator.start();
});
afterAll(() => slack.close());

function directory(clock: ManualClock, admins: string[] = []) {
  const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  return new AdminDirectory({
    directory: new SlackDirectory(client, clock),
    admins,
    clock,
    logger: createLogger({ level: 'error', write: () => {} }),
  });
}

const teamId = () => slack.teamId;

test('workspace admins (from users.info) and DEPUTY_ADMINS are admins; others are not', async () => {
  const admins = directory(new ManualClock(), ['U_BOB']);
  expect(await admins.isAdmin({ teamId: teamId(), userId: 'U_ADMIN' })).toBe(true);
  expect(await admins.isAdmin({ teamId: teamId(), userId: 'U_BOB' })).toBe(true);
  expect(await admins.isAdmin({ teamId: teamId(), userId: 'U_ALICE' })).toBe(false);
});

test('a users.info answer is trusted for at most 5 minutes', async () => {
  const clock = new ManualClock();
  const admins = directory(clock);
  slack.reset();
  await admins.isAdmin({ teamId: teamId(), userId: 'U_ALICE' });
  clock.advance(4 * 60 * 1000);
  await admins.isAdmin({ teamId: teamId(), userId: 'U_ALICE' });
  expect(slack.callsTo('users.info')).toHaveLength(1);
  clock.advance(60 * 1000 + 1);
  await admins.isAdmin({ teamId: teamId(), userId: 'U_ALICE' });
  expect(slack.callsTo('users.info')).toHaveLength(2);
});

test('when Slack cannot answer, nobody becomes an admin', async () => {
  slack.injectError('users.info', { error: 'internal_error' });
  expect(await directory(new ManualClock()).isAdmin({ teamId: teamId(), userId: 'U_ADMIN' })).toBe(false);
});
