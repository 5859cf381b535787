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
});
