import { describe, expect, test } from '@jest/globals';
import type { SessionEvent } from '../../src/sessions/events.js';
import { toolCallDetails, toolResultSummary } from '../../src/sessions/tool-results.js';

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

describe('the details behind the progress lines', () => {
  const use = (id: string, name: string, permission: 'allow' | 'ask' | 'deny' = 'allow') =>
    ({
      type: 'agent.mcp_tool_use',
      id,
      name,
      mcp_server_name: 'notion',
      input: {},
      evaluated_permission: permission,
      processed_at: '2026-12-01T00:00:00Z',
    }) as unknown as SessionEvent;
  const result = (useId: string, t: string, isError = false) =>
    ({
      type: 'agent.mcp_tool_result',
      id: `r_${useId}`,
      mcp_tool_use_id: useId,
      content: text(t),
      is_error: isError,
      processed_at: '2026-12-01T00:00:01Z',
    }) as unknown as SessionEvent;

  test('each call says what came of it, with its raw result (secret-looking values masked)', () => {
    const details = toolCallDetails([
      use('u1', 'search'),
      result('u1', '{"results":[],"token":"ghp_0123456789abcdefghijABCDEFGHIJ"}'),
      use('u2', 'create_page', 'ask'),
      {
        type: 'user.tool_confirmation',
        id: 'c2',
        tool_use_id: 'u2',
        result: 'deny',
      } as unknown as SessionEvent,
      result('u2', 'Denied in Slack', true),
      use('u3', 'delete_page', 'deny'),
      use('u4', 'search'),
      result('u4', 'upstream timed out', true),
    ]);
    expect(details.map((d) => [d.call, d.outcome])).toEqual([
      ['notion.search', 'returned'],
      ['notion.create_page', 'denied'],
      ['notion.delete_page', 'refused by policy'],
      ['notion.search', 'failed'],
    ]);
    expect(details[0]?.result).toContain('{"results":[]');
    expect(details[0]?.result).not.toContain('ghp_');
  });
});
