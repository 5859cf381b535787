import { expect, test } from '@jest/globals';
import { approvalMessage } from '../../src/blocks/sessions.js';

const approval = {
  approvalId: 'apr_1',
  server: 'notion',
  tool: 'create_page',
  argumentsHash: 'f'.repeat(64),
};

test('secret-looking values are masked at any depth, and shortening is said, not silent', () => {
  let deep: Record<string, unknown> = { password: 'canary-deep-password', note: 'Bearer canary-deep-bearer' };
  for (let i = 0; i < 12; i += 1) deep = { level: deep };
  const input = {
    title: 'x'.repeat(500),
    recipients: Array.from({ length: 25 }, (_, i) => `person${i}@example.com`),
    headers: { authorization: 'canary-auth-header' },
    text: 'use token xoxb-1-canary-slack please',
    deep,
  };
  const shown = JSON.stringify(approvalMessage(approval, input));
  for (const canary of [
    'canary-deep-password',
    'canary-deep-bearer',
    'canary-auth-header',
    'xoxb-1-canary-slack',
  ]) {
    expect(shown).not.toContain(canary);
  }
  expect(shown).toContain('… 5 more');
  expect(shown).toContain('Some values are shortened here.');
  expect(shown).toContain('ffffffffffff');
});

test('arguments read as fields, not JSON (issue 20, item 3)', () => {
  const shown = approvalMessage(approval, {
    title: 'Launch plan',
    tags: ['a', 'b'],
    parent: { id: 'p1', empty: '' },
  });
  const text = JSON.stringify(shown.blocks);
  expect(text).toContain('title: Launch plan\\ntags:\\n  - a\\n  - b\\nparent:\\n  id: p1\\n  empty: \\"\\"');
  expect(text).not.toContain('{\\n');
});
