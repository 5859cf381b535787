import { describe, expect, test } from '@jest/globals';
import { samePerson } from '../../src/identity/principal.js';
import { Steering } from '../../src/identity/steering.js';
import { createLogger } from '../../src/logger.js';
import type { SlackDirectory } from '../../src/slack/directory.js';

const quiet = createLogger({ level: 'error', write: () => {} });

/** A directory whose groups are given (or that Slack does not answer about). */
function directory(groups: Record<string, string[]> | 'unreachable'): SlackDirectory {
  return {
    isAdminOrOwner: async () => false,
    groupMembers: async (id: string) => {
      if (groups === 'unreachable') throw new Error('slack is down');
      return groups[id] ?? [];
    },
  } as unknown as SlackDirectory;
}

describe('one rule for "the same person"', () => {
  test('on Enterprise Grid the same user in another workspace of the org is the same person (the rule thread replies now share)', () => {
    const owner = { enterpriseId: 'E1', teamId: 'T1', userId: 'U1' };
    expect(samePerson(owner, { enterpriseId: 'E1', teamId: 'T2', userId: 'U1' })).toBe(true);
    expect(samePerson(owner, { enterpriseId: 'E2', teamId: 'T1', userId: 'U1' })).toBe(false);
    expect(samePerson(owner, { enterpriseId: 'E1', teamId: 'T1', userId: 'U2' })).toBe(false);
  });

  test('elsewhere the same user ID in another workspace is someone else (security R6)', () => {
    expect(samePerson({ teamId: 'T1', userId: 'U1' }, { teamId: 'T1', userId: 'U1' })).toBe(true);
    expect(samePerson({ teamId: 'T1', userId: 'U1' }, { teamId: 'T2', userId: 'U1' })).toBe(false);
  });
});

const everyoneActive = { refusal: async () => undefined };

describe('who may steer a session (security R10, R29)', () => {
  const session = { principal: { teamId: 'T1', userId: 'U_OWNER' }, approverGroup: 'S_APPROVERS' };
  const bob = { teamId: 'T1', userId: 'U_BOB' };

  test('its own person may do anything to it', async () => {
    const steering = new Steering({ directory: directory({}), standing: everyoneActive, logger: quiet });
    for (const act of ['follow_up', 'stop', 'share', 'start', 'decide'] as const)
      expect(await steering.mayAct(session.principal, session, act)).toBe(true);
  });

  test('a member of the agent’s approver group may decide on held calls, and nothing else', async () => {
    const steering = new Steering({
      directory: directory({ S_APPROVERS: ['U_BOB'] }),
      standing: everyoneActive,
      logger: quiet,
    });
    expect(await steering.mayAct(bob, session, 'decide')).toBe(true);
    for (const act of ['follow_up', 'stop', 'share', 'start'] as const)
      expect(await steering.mayAct(bob, session, act)).toBe(false);
    expect(await steering.mayAct(bob, { principal: session.principal }, 'decide')).toBe(false);
  });

  test('someone Deputy no longer acts for (left, suspended, app removed) may do nothing, even to their own session', async () => {
    const standing = {
      refusal: async (p: { userId: string }) => (p.userId === 'U_OWNER' ? 'departed' : undefined),
    };
    const steering = new Steering({
      directory: directory({ S_APPROVERS: ['U_BOB'] }),
      standing,
      logger: quiet,
    });
    for (const act of ['follow_up', 'stop', 'share', 'start', 'decide'] as const)
      expect(await steering.mayAct(session.principal, session, act)).toBe(false);
  });

  test('an approver may not decide on the session of someone Deputy no longer acts for', async () => {
    const standing = {
      refusal: async (p: { userId: string }) => (p.userId === 'U_OWNER' ? 'departed' : undefined),
    };
    const steering = new Steering({
      directory: directory({ S_APPROVERS: ['U_BOB'] }),
      standing,
      logger: quiet,
    });
    expect(await steering.mayAct(bob, session, 'decide')).toBe(false);
  });

  test('when Slack does not say who is in the group, only the owner decides (fail closed)', async () => {
    const steering = new Steering({
      directory: directory('unreachable'),
      standing: everyoneActive,
      logger: quiet,
    });
    expect(await steering.mayAct(bob, session, 'decide')).toBe(false);
  });
});
