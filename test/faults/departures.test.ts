import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { activeCredentials } from '../support/connect.js';
import { type Harness, vaultIdOf } from '../support/harness.js';
import { startSessionsHarness } from '../support/sessions.js';

/**
 * Issue 14, people who leave: Slack has its 200 before the clean-up runs, so a clean-up that fails
 * half-way is not redelivered. The sweep finishes it: the credential is archived after all, and the
 * admins are told once.
 */

let h: Harness;

beforeAll(async () => {
  h = await startSessionsHarness({ environment: { DEPUTY_ADMINS: 'U_ADMIN' } });
}, 60_000);
afterAll(() => h.close());

function departureDms(): number {
  return h.sandbox.slack.calls.filter(
    (c) =>
      c.method === 'chat.postMessage' &&
      c.body.channel === h.sandbox.slack.dmChannelId('U_ADMIN') &&
      String(c.body.text).includes('Deputy no longer acts for <@U_ALICE>'),
  ).length;
}

test('a departure whose archiving fails (Managed Agents down) is finished by the sweep, and the admins told once', async () => {
  const vaultId = await vaultIdOf(h, 'U_ALICE');
  expect(activeCredentials(h, vaultId)).toHaveLength(1);
  // Every attempt of the first archive fails (the SDK's own retries included).
  h.sandbox.managedAgents.injectFault({
    method: 'POST',
    path: /\/credentials\/[^/]+\/archive$/,
    status: 503,
    times: 3,
  });

  const sent = await h.driver.event({
    type: 'user_change',
    user: { id: 'U_ALICE', team_id: h.sandbox.slack.teamId, deleted: true },
  });
  expect(sent.status).toBe(200);
  await h.settle();
  expect(activeCredentials(h, vaultId)).toHaveLength(1);
  expect(departureDms()).toBe(0);

  h.clock.advance(61_000);
  await h.settle();
  expect(activeCredentials(h, vaultId)).toEqual([]);
  expect(departureDms()).toBe(1);

  // Nothing is left to finish: later sweeps do nothing more.
  h.clock.advance(61_000);
  await h.settle();
  expect(departureDms()).toBe(1);
  expect(await h.store.standing.unfinishedDepartures()).toEqual([]);
});
