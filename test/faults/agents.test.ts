import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Harness } from '../support/harness.js';
import { saveAgent, startSessionsHarness } from '../support/sessions.js';

/** Publishing agents while Managed Agents loses answers: one agent, one new version per save. */
let h: Harness;
beforeAll(async () => {
  h = await startSessionsHarness();
});
afterAll(() => h.close());

const named = (name: string) =>
  h.sandbox.managedAgents.agents().filter((a) => a.metadata?.deputy_agent === name);

test('a lost answer to agent create: the agent is found by its save, not created twice', async () => {
  h.sandbox.managedAgents.failAt('agent.create', { afterHandling: true, drop: true });
  await saveAgent(h, 'dropped-create', { search: 'allow' });
  const [agent, ...more] = named('dropped-create');
  expect(more).toEqual([]);
  expect(await h.store.agents.get('dropped-create')).toMatchObject({
    agentId: agent?.id,
    agentVersion: agent?.version,
  });
});

test('a lost answer to agent update: one new version, recorded as published', async () => {
  await saveAgent(h, 'dropped-update', { search: 'allow' });
  const before = await h.store.agents.get('dropped-update');
  h.sandbox.managedAgents.failAt('agent.update', { afterHandling: true, drop: true });
  await h.services.agents.save(
    { teamId: h.sandbox.slack.teamId, userId: 'U_ADMIN' },
    { ...(before?.config ?? ({} as never)), description: 'second save' },
    before?.configVersion,
    'test',
  );
  const [agent] = named('dropped-update');
  expect(agent?.version).toBe((before?.agentVersion ?? 0) + 1);
  expect(await h.store.agents.get('dropped-update')).toMatchObject({
    agentVersion: agent?.version,
    configVersion: (before?.configVersion ?? 0) + 1,
  });
});
