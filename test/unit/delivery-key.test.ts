import { describe, expect, test } from '@jest/globals';
import { deliveryKey } from '../../src/ingress/slack-deliveries.js';

describe('what makes a Slack delivery the same one (security R3)', () => {
  test('an event is known by its event_id, whatever else a retry changes', () => {
    const event = { type: 'event_callback', event_id: 'Ev01', event: { type: 'message' } };
    expect(deliveryKey(event)).toBe('event:Ev01');
    expect(deliveryKey({ ...event, event_time: 2 })).toBe('event:Ev01');
  });

  test('a click is known by person, action and action_ts: two clicks differ, a redelivery does not', () => {
    const click = (ts: string) => ({
      type: 'block_actions',
      user: { id: 'U1' },
      trigger_id: `t-${ts}`,
      actions: [{ action_id: 'session_approve', action_ts: ts }],
    });
    expect(deliveryKey(click('1.000001'))).toBe('click:U1:session_approve:1.000001');
    expect(deliveryKey(click('1.000002'))).not.toBe(deliveryKey(click('1.000001')));
  });

  test('another interaction is known by its trigger, or without one by the digest of its payload', () => {
    expect(deliveryKey({ type: 'view_submission', trigger_id: 'trig' })).toBe('interaction:trig');
    const closed = { type: 'view_closed', view: { id: 'V1' } };
    expect(deliveryKey(closed)).toMatch(/^interaction:[\w-]{43}$/);
    expect(deliveryKey(closed)).toBe(deliveryKey(structuredClone(closed)));
  });

  test('slash commands and options requests are not taken here (commands dedupe where they act)', () => {
    expect(deliveryKey({ command: '/agent', trigger_id: 'trig', text: 'status' })).toBeUndefined();
    expect(deliveryKey({ type: 'block_suggestion', user: { id: 'U1' } })).toBeUndefined();
  });
});
