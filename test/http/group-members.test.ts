import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Harness } from '../support/harness.js';
import { agentAnswers, agentConfig, startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 15, item 5: user-group membership is read from Slack at most once a minute per group (every
 * run, listing and approval asks; Slack's tier for usergroups.users.list is 20 a minute), and read
 * again at once when Slack says the group changed.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness();
  const config = await agentConfig(h, 'approvers-only', { search: 'allow' });
  await h.services.agents.save(
    { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' },
    { ...config, access: { kind: 'listed', users: [], channels: [], userGroups: ['S_APPROVERS'] } },
    undefined,
    'setup',
  );
}, 60_000);
afterAll(() => h.close());

const runAs = (userId: string) => agentAnswers(h, userId, 'run --agent approvers-only search for plans');
const listings = () => h.sandbox.slack.callsTo('usergroups.users.list').length;

test('runs within a minute read the group once; a subteam_members_changed event makes the next one read it again', async () => {
  const group = h.sandbox.slack.userGroup('S_APPROVERS');
  group.users.push('U_ALICE');
  const before = listings();
  expect(await runAs('U_ALICE')).toContain('Started approvers-only');
  expect(await runAs('U_ALICE')).toContain('Started approvers-only');
  expect(listings()).toBe(before + 1);

  // Slack removes Alice from the group and says so: the next run reads the group and refuses her.
  group.users.splice(group.users.indexOf('U_ALICE'), 1);
  const sent = await h.driver.event({
    type: 'subteam_members_changed',
    subteam_id: 'S_APPROVERS',
    team_id: h.sandbox.slack.teamId,
    removed_users: ['U_ALICE'],
    removed_users_count: 1,
  });
  expect(sent.status).toBe(200);
  await h.settle();
  expect(await runAs('U_ALICE')).toContain('You may not run approvers-only here');
  expect(listings()).toBe(before + 2);
});

test('without an event, a change is seen once the minute is up', async () => {
  const group = h.sandbox.slack.userGroup('S_APPROVERS');
  expect(await runAs('U_BOB')).toContain('You may not run approvers-only here');
  group.users.push('U_BOB');
  expect(await runAs('U_BOB')).toContain('You may not run approvers-only here');
  h.clock.advance(61_000);
  await h.settle();
  expect(await runAs('U_BOB')).toContain('Started approvers-only');
});
