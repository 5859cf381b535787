import { describe, expect, test } from '@jest/globals';
import { agentAnswer, sharedResultMessage } from '../../src/blocks/sessions.js';

const owner = { teamId: 'T1', userId: 'U_ALICE' };
const shown = (blocks: unknown) => JSON.stringify(blocks);

describe('an agent’s answer in Slack (issue 20, item 3)', () => {
  test('people it names are shown by name in the owner’s DM; links, channels and @here stay text', () => {
    const { message } = agentAnswer(
      'Ask <@U_BOB> about it. <!channel> <https://evil.example|click> <#C_GENERAL> <!subteam^S1>',
      'reader',
    );
    const text = shown(message.blocks);
    expect(text).toContain('Ask <@U_BOB> about it.');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&lt;https://evil.example|click&gt;');
    expect(text).toContain('&lt;#C_GENERAL&gt;');
    expect(text).toContain('&lt;!subteam^S1&gt;');
  });

  test('a shared result mentions nobody: in a channel a mention would notify them', () => {
    const message = sharedResultMessage(owner, 'reader', 'Ask <@U_BOB> about it.');
    expect(shown(message.blocks.slice(1))).toContain('Ask &lt;@U_BOB&gt; about it.');
  });

  test('a mention is never cut in two between sections', () => {
    const answer = `${'x'.repeat(2995)} <@U_BOB> ${'y'.repeat(100)}`;
    const { message } = agentAnswer(answer, 'reader');
    for (const block of message.blocks) {
      const text = (block as { text?: { text: string } }).text?.text ?? '';
      expect(text.split('<').length).toBe(text.split('>').length);
    }
    expect(shown(message.blocks)).toContain('<@U_BOB>');
  });
});
