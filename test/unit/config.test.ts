import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig, wantsSandbox } from '../../src/config.js';

const CANARY_SECRET = 'canary-signing-secret-9f2c1e';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  test('no credentials at all means the sandbox, with defaults for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      mode: 'sandbox',
      port: 3000,
      publicBaseUrl: 'http://127.0.0.1:3000',
      storage: { kind: 'embedded', dataDir: '.deputy-data', tablePrefix: 'deputy-' },
      allowPrivateNetwork: true,
      logLevel: 'info',
      admins: [],
    });
    expect(config.slack).toBeUndefined();
    expect(config.anthropic).toBeUndefined();
  });

  test('full credentials mean live mode against the configured services', () => {
    const config = loadConfig({
      SLACK_SIGNING_SECRET: CANARY_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-1-canary',
      ANTHROPIC_API_KEY: 'sk-ant-canary-key',
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
      AWS_REGION: 'eu-west-1',
      DEPUTY_ADMINS: 'U123, W456',
    });
    expect(config.mode).toBe('live');
    expect(config.slack?.apiUrl).toBe('http://127.0.0.1:9999/api/');
    expect(config.storage).toEqual({ kind: 'dynamodb', region: 'eu-west-1', tablePrefix: 'deputy-' });
    expect(config.admins).toEqual(['U123', 'W456']);
    expect(config.allowPrivateNetwork).toBe(false);
    expect(config.secrets).toEqual(
      expect.arrayContaining([CANARY_SECRET, 'xoxb-1-canary', 'sk-ant-canary-key']),
    );
  });

  test('one error names every bad variable and never prints a value', () => {
    const env = {
      PORT: 'eighty',
      SLACK_SIGNING_SECRET: CANARY_SECRET,
      SLACK_BOT_TOKEN: 'canary-not-a-bot-token',
      ANTHROPIC_WEBHOOK_SIGNING_KEY: 'canary-webhook-key',
      LOG_LEVEL: 'chatty',
      DEPUTY_ADMINS: 'alice',
      DYNAMODB_ENDPOINT: 'not a url',
    };
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of [
      'PORT',
      'SLACK_BOT_TOKEN',
      'ANTHROPIC_WEBHOOK_SIGNING_KEY',
      'LOG_LEVEL',
      'DEPUTY_ADMINS',
      'DYNAMODB_ENDPOINT',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).toMatch(/^Deputy cannot start: 6 configuration problems:/);
    for (const value of Object.values(env)) expect(message).not.toContain(value);
  });

  test('partial live credentials are refused rather than half-running against real Slack', () => {
    const problems = problemsOf({ SLACK_SIGNING_SECRET: CANARY_SECRET, SLACK_BOT_TOKEN: 'xoxb-1-canary' });
    expect(problems).toEqual([
      expect.stringMatching(
        /^ANTHROPIC_API_KEY: required when SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN are set/,
      ),
    ]);
    expect(problems.join('\n')).not.toContain(CANARY_SECRET);
  });

  test('the production image (NODE_ENV=production) without credentials refuses to start rather than run the sandbox', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^SLACK_SIGNING_SECRET: required when NODE_ENV is production/),
    ]);
    expect(loadConfig({ NODE_ENV: 'development' }).mode).toBe('sandbox');
  });

  test('npm start runs the sandbox only without any live credential, and never in production', () => {
    expect(wantsSandbox({})).toBe(true);
    expect(wantsSandbox({ SLACK_BOT_TOKEN: ' ' })).toBe(true);
    for (const name of ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'ANTHROPIC_API_KEY'])
      expect(wantsSandbox({ [name]: 'set' })).toBe(false);
    expect(wantsSandbox({ NODE_ENV: 'production' })).toBe(false);
  });

  test('a DynamoDB endpoint needs a region, and Slack client credentials come in pairs', () => {
    expect(problemsOf({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', SLACK_CLIENT_ID: '123.456' })).toEqual([
      'AWS_REGION: required when DYNAMODB_ENDPOINT is set',
      'SLACK_CLIENT_ID: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together',
    ]);
  });

  test('the sealing key must be 32 bytes of base64; it is read as bytes and treated as a secret', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({ DEPUTY_SEALING_KEY: key });
    expect(config.sealingKey?.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(config.secrets).toContain(key);
    const short = Buffer.alloc(16, 7).toString('base64');
    expect(problemsOf({ DEPUTY_SEALING_KEY: short })).toEqual([
      'DEPUTY_SEALING_KEY: must be 32 random bytes in base64 (openssl rand -base64 32)',
    ]);
    expect(problemsOf({ DEPUTY_SEALING_KEY: `${key.slice(0, -2)}!=` })).toHaveLength(1);
    expect(loadConfig({}).sealingKey).toBeUndefined();
  });

  describe('the audit webhook (issue 18: audit records sent on to a SIEM)', () => {
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const live = {
      SLACK_SIGNING_SECRET: CANARY_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-1-canary',
      ANTHROPIC_API_KEY: 'sk-ant-canary-key',
    };

    test('URL, secret and actions are read together; the secret and the URL are redacted from logs', () => {
      const config = loadConfig({
        ...live,
        DEPUTY_AUDIT_WEBHOOK_URL: 'https://siem.example.com/hooks/deputy',
        DEPUTY_AUDIT_WEBHOOK_SECRET: secret,
        DEPUTY_AUDIT_WEBHOOK_ACTIONS: ' session.*, approval.decided ,',
      });
      expect(config.auditWebhook).toEqual({
        url: 'https://siem.example.com/hooks/deputy',
        secret,
        actions: ['session.*', 'approval.decided'],
      });
      expect(config.secrets).toEqual(
        expect.arrayContaining([secret, 'https://siem.example.com/hooks/deputy']),
      );
      const all = loadConfig({
        DEPUTY_AUDIT_WEBHOOK_URL: 'https://siem.example.com/',
        DEPUTY_AUDIT_WEBHOOK_SECRET: secret,
      });
      expect(all.auditWebhook?.actions).toEqual([]);
      expect(loadConfig({}).auditWebhook).toBeUndefined();
    });

    test('the secret is required with the URL and refused without it', () => {
      expect(problemsOf({ ...live, DEPUTY_AUDIT_WEBHOOK_URL: 'https://siem.example.com/' })).toEqual([
        expect.stringMatching(/^DEPUTY_AUDIT_WEBHOOK_SECRET: required when DEPUTY_AUDIT_WEBHOOK_URL is set/),
      ]);
      expect(problemsOf({ DEPUTY_AUDIT_WEBHOOK_SECRET: secret })).toEqual([
        expect.stringMatching(/^DEPUTY_AUDIT_WEBHOOK_SECRET: set without DEPUTY_AUDIT_WEBHOOK_URL/),
      ]);
      expect(problemsOf({ DEPUTY_AUDIT_WEBHOOK_ACTIONS: 'session.*' })).toEqual([
        'DEPUTY_AUDIT_WEBHOOK_ACTIONS: set without DEPUTY_AUDIT_WEBHOOK_URL',
      ]);
    });

    test('the secret must be whsec_ and 24 to 64 bytes of base64, and is never echoed', () => {
      const url = 'https://siem.example.com/';
      for (const bad of [
        'canary-not-whsec',
        `whsec_${Buffer.alloc(16, 9).toString('base64')}`,
        `whsec_${Buffer.alloc(65, 9).toString('base64')}`,
        `whsec_${Buffer.alloc(32, 9).toString('base64').slice(0, -1)}`,
        `whsec_${Buffer.alloc(32, 9).toString('base64url')}_`,
      ]) {
        const problems = problemsOf({ DEPUTY_AUDIT_WEBHOOK_URL: url, DEPUTY_AUDIT_WEBHOOK_SECRET: bad });
        expect(problems).toEqual([expect.stringMatching(/^DEPUTY_AUDIT_WEBHOOK_SECRET: must be "whsec_"/)]);
        expect(problems.join('\n')).not.toContain(bad);
      }
      const long = `whsec_${Buffer.alloc(64, 9).toString('base64')}`;
      expect(
        loadConfig({ DEPUTY_AUDIT_WEBHOOK_URL: url, DEPUTY_AUDIT_WEBHOOK_SECRET: long }).auditWebhook?.secret,
      ).toBe(long);
    });

    test('the URL is https without credentials; plain http only where private networks are allowed', () => {
      const withSecret = { ...live, DEPUTY_AUDIT_WEBHOOK_SECRET: secret };
      expect(problemsOf({ ...withSecret, DEPUTY_AUDIT_WEBHOOK_URL: 'http://siem.example.com/' })).toEqual([
        expect.stringMatching(/^DEPUTY_AUDIT_WEBHOOK_URL: must be an https URL/),
      ]);
      expect(
        problemsOf({ ...withSecret, DEPUTY_AUDIT_WEBHOOK_URL: 'https://user:canary-pass@siem.example.com/' }),
      ).toEqual([expect.stringMatching(/^DEPUTY_AUDIT_WEBHOOK_URL: must not carry credentials/)]);
      expect(problemsOf({ ...withSecret, DEPUTY_AUDIT_WEBHOOK_URL: 'ftp://siem.example.com/' })).toEqual([
        'DEPUTY_AUDIT_WEBHOOK_URL: must be an http(s) URL',
      ]);
      const local = 'http://127.0.0.1:9999/siem';
      expect(
        loadConfig({ ...withSecret, DEPUTY_AUDIT_WEBHOOK_URL: local, DEPUTY_ALLOW_PRIVATE_NETWORK: 'true' })
          .auditWebhook?.url,
      ).toBe(local);
      // The sandbox allows private networks unless told not to.
      expect(
        loadConfig({ DEPUTY_AUDIT_WEBHOOK_URL: local, DEPUTY_AUDIT_WEBHOOK_SECRET: secret }).auditWebhook
          ?.url,
      ).toBe(local);
    });

    test('actions are a comma-separated list of actions and prefix.* patterns', () => {
      const base = {
        DEPUTY_AUDIT_WEBHOOK_URL: 'https://siem.example.com/',
        DEPUTY_AUDIT_WEBHOOK_SECRET: secret,
      };
      for (const bad of [
        'session',
        '*',
        'session.*.created',
        'Session.Created',
        'session.created;drop',
        'session.',
      ]) {
        expect(problemsOf({ ...base, DEPUTY_AUDIT_WEBHOOK_ACTIONS: `tool.called,${bad}` })).toEqual([
          'DEPUTY_AUDIT_WEBHOOK_ACTIONS: must be a comma-separated list of audit actions (session.created) or prefixes (session.*)',
        ]);
      }
      // Which names are actions is checked when the webhook starts (the audit layer knows them).
      expect(
        loadConfig({ ...base, DEPUTY_AUDIT_WEBHOOK_ACTIONS: 'memory_store.*,slack.signature_refused' })
          .auditWebhook?.actions,
      ).toEqual(['memory_store.*', 'slack.signature_refused']);
    });
  });
});
