import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Logger, LogLevel, WebAPIPlatformError, WebClient } from '@slack/web-api';
import { SlackEmulator } from '../../sandbox/slack/emulator.js';
import { ManualClock } from '../../src/clock.js';

/** WebClient logs every platform error; these tests provoke them on purpose. */
const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/** The Slack error code a WebClient call failed with. */
async function platformError(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return (error as WebAPIPlatformError).data.error;
}

const clientFor = (slack: SlackEmulator) =>
  new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, logger: silent });

describe('Slack emulator user groups, by default', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
  let slack: SlackEmulator;
  let client: WebClient;

  beforeAll(async () => {
    slack = await SlackEmulator.start({ clock });
    client = clientFor(slack);
  });
  afterAll(async () => {
    await slack.close();
  });

  test('@approvers holds the admin', () => {
    expect(slack.userGroups.map((g) => g.id)).toEqual(['S_APPROVERS']);
    expect(slack.userGroup('S_APPROVERS')).toEqual({
      id: 'S_APPROVERS',
      handle: 'approvers',
      name: 'Approvers',
      users: ['U_ADMIN'],
    });
    expect(() => slack.userGroup('S_NOPE')).toThrow(/no user group S_NOPE/);
  });

  test('usergroups.list answers usergroup objects in Slack field names, without users unless asked', async () => {
    const res = await client.usergroups.list();
    expect(res.ok).toBe(true);
    expect(res.usergroups).toEqual([
      {
        id: 'S_APPROVERS',
        team_id: slack.teamId,
        is_usergroup: true,
        is_subteam: true,
        name: 'Approvers',
        description: '',
        handle: 'approvers',
        is_external: false,
        date_create: Date.UTC(2026, 10, 22, 9, 0, 0) / 1000,
        date_update: Date.UTC(2026, 10, 22, 9, 0, 0) / 1000,
        date_delete: 0,
        auto_type: null,
        created_by: 'USLACKBOT',
        updated_by: 'USLACKBOT',
        deleted_by: null,
        prefs: { channels: [], groups: [] },
        user_count: 1,
      },
    ]);

    const withUsers = await client.usergroups.list({ include_users: true });
    expect(withUsers.usergroups?.[0]?.users).toEqual(['U_ADMIN']);
    expect(slack.callsTo('usergroups.list')).toHaveLength(2);
    expect(slack.callsTo('usergroups.list')[1]?.body).toMatchObject({ include_users: 'true' });
  });

  test('usergroups.users.list answers the member ids; an unknown group is no_such_subteam', async () => {
    const res = await client.usergroups.users.list({ usergroup: 'S_APPROVERS' });
    expect(res).toMatchObject({ ok: true, users: ['U_ADMIN'] });

    expect(await platformError(client.usergroups.users.list({ usergroup: 'S_MISSING' }))).toBe(
      'no_such_subteam',
    );
    const calls = slack.callsTo('usergroups.users.list');
    expect(calls.map((c) => c.body.usergroup)).toEqual(['S_APPROVERS', 'S_MISSING']);
    expect(calls[1]?.response).toEqual({ ok: false, error: 'no_such_subteam' });
  });

  test('a missing usergroup argument is invalid_arguments', async () => {
    const error = await platformError(client.apiCall('usergroups.users.list', {}));
    expect(error).toBe('invalid_arguments');
  });

  test('addUserGroup and changes to a group show in the Web API; reset keeps groups', async () => {
    clock.advance(60_000);
    slack.addUserGroup({
      id: 'S_ONCALL',
      handle: 'oncall',
      name: 'On call',
      description: 'Whoever carries the pager',
      users: ['U_ALICE', 'U_BOB'],
    });
    slack.userGroup('S_APPROVERS').users.push('U_ALICE');

    const res = await client.usergroups.list({ include_users: true });
    const oncall = res.usergroups?.find((g) => g.id === 'S_ONCALL');
    expect(oncall).toMatchObject({
      handle: 'oncall',
      name: 'On call',
      description: 'Whoever carries the pager',
      user_count: 2,
      users: ['U_ALICE', 'U_BOB'],
      date_create: Date.UTC(2026, 10, 22, 9, 1, 0) / 1000,
    });
    expect(res.usergroups?.find((g) => g.id === 'S_APPROVERS')?.users).toEqual(['U_ADMIN', 'U_ALICE']);

    slack.reset({ state: true });
    const members = await client.usergroups.users.list({ usergroup: 'S_ONCALL' });
    expect(members.users).toEqual(['U_ALICE', 'U_BOB']);
  });

  test('addUserGroup refuses ids Slack would not make and handles already taken', () => {
    expect(() => slack.addUserGroup({ id: 'G_X', handle: 'x', name: 'X', users: [] })).toThrow(
      /start with S/,
    );
    expect(() => slack.addUserGroup({ id: 'S_OTHER', handle: 'approvers', name: 'Dup', users: [] })).toThrow(
      /@approvers is taken/,
    );
  });

  test('injected failures and bad tokens answer as for other methods', async () => {
    slack.injectError('usergroups.users.list', { error: 'plan_upgrade_required' });
    expect(await platformError(client.usergroups.users.list({ usergroup: 'S_APPROVERS' }))).toBe(
      'plan_upgrade_required',
    );
    const stranger = new WebClient('xoxb-wrong', {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      logger: silent,
    });
    expect(await platformError(stranger.usergroups.list())).toBe('invalid_auth');
  });
});

describe('Slack emulator user groups, configured', () => {
  let slack: SlackEmulator;

  beforeAll(async () => {
    slack = await SlackEmulator.start({
      userGroups: [{ id: 'S_SRE', handle: 'sre', name: 'SRE', users: ['U_BOB'] }],
    });
  });
  afterAll(async () => {
    await slack.close();
  });

  test('userGroups replaces the default', async () => {
    const client = clientFor(slack);
    const res = await client.usergroups.list({ include_users: true });
    expect(res.usergroups?.map((g) => [g.id, g.handle, g.users])).toEqual([['S_SRE', 'sre', ['U_BOB']]]);
    expect(await platformError(client.usergroups.users.list({ usergroup: 'S_APPROVERS' }))).toBe(
      'no_such_subteam',
    );
  });
});
