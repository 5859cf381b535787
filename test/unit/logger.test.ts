import { describe, expect, test } from '@jest/globals';
import { createLogger } from '../../src/logger.js';

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', secrets, write: (line) => lines.push(line) });
  return { logger, lines };
}

describe('logger', () => {
  test('writes one JSON object per line with message and fields', () => {
    const { logger, lines } = capture();
    logger.child({ correlationId: 'req_1' }).info('vault ready', { vaultId: 'vlt_1' });
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'info',
      msg: 'vault ready',
      correlationId: 'req_1',
      vaultId: 'vlt_1',
    });
  });

  test('drops lines below the configured level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line) });
    logger.info('quiet');
    logger.warn('loud');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['loud']);
  });

  test('redacts configured secrets, secret-named fields and token shapes wherever they appear', () => {
    const canaries = {
      configured: 'canary-configured-secret-1a2b',
      bot: 'xoxb-123-456-canaryBot',
      user: 'xoxp-9-8-canaryUser',
      anthropic: 'sk-ant-api03-canaryKey',
      webhook: 'whsec_Y2FuYXJ5',
      bearer: 'canaryBearerValue123',
      field: 'canary-field-value',
      query: 'canaryCodeValue',
      json: 'canaryJsonAccessToken',
      colon: 'canaryColonRefresh',
      basic: 'Y2FuYXJ5OmJhc2lj',
    };
    const { logger, lines } = capture([canaries.configured]);
    logger.error(`request failed with ${canaries.configured} and ${canaries.bot}`, {
      headers: { authorization: `Bearer ${canaries.bearer}` },
      access_token: canaries.field,
      nested: { text: `user ${canaries.user} key ${canaries.anthropic} hook ${canaries.webhook}` },
      url: `https://example.test/cb?code=${canaries.query}&state=s`,
    });
    logger.warn(new Error(`boom ${canaries.bot}`));
    logger.error(`provider said {"access_token":"${canaries.json}","token_type":"bearer"}`);
    logger.error(`refresh_token: ${canaries.colon} and Authorization: Basic ${canaries.basic}`);
    const output = lines.join('\n');
    for (const canary of Object.values(canaries)) expect(output).not.toContain(canary);
    expect(output).toContain('[redacted]');
    expect(output).toContain('state=s');
    expect(output).toContain('"token_type\\":\\"bearer');
  });
});
