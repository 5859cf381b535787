import { describe, expect, test } from '@jest/globals';
import { toolResultSummary } from '../../src/sessions/tool-results.js';

const text = (t: string) => [{ type: 'text' as const, text: t }];

describe('a tool result in a few words (issue 20, item 3)', () => {
  test('a record is named by its title and id, not shown as JSON', () => {
    expect(toolResultSummary(text('{"id":"page_3","title":"Launch plan","body":"x"}'))).toBe(
      'title “Launch plan”, id “page_3”',
    );
  });

  test('a list (bare, or wrapped in one field) says how many and names the first three', () => {
    const results = JSON.stringify({
      results: ['A', 'B', 'C', 'D'].map((title, i) => ({ id: `p${i}`, title })),
    });
    expect(toolResultSummary(text(results))).toBe('4 results: “A”, “B”, “C”, …');
    expect(toolResultSummary(text('[]'))).toBe('no results');
  });

  test('text keeps its first line, cut to a progress line’s length', () => {
    const summary = toolResultSummary(text(`${'word '.repeat(60)}\nsecond line`));
    expect(summary.length).toBeLessThanOrEqual(160);
    expect(summary).not.toContain('second line');
  });

  test('what a tool returns cannot mention, link or leak: mrkdwn is escaped and secret-looking values masked', () => {
    const summary = toolResultSummary(
      text('{"title":"<!channel> hi","token":"ghp_0123456789abcdefghijABCDEFGHIJ"}'),
    );
    expect(summary).toBe('title “&lt;!channel&gt; hi”');
    expect(toolResultSummary(text('see ghp_0123456789abcdefghijABCDEFGHIJ now'))).toBe('see [redacted] now');
  });
});
