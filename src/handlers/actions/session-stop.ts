import { NOT_FROM_ITS_MESSAGE, NOT_YOURS_TO_STEER } from '../../blocks/sessions.js';
import { sessionControl } from './session-control.js';

const REPLIES = {
  done: 'Stopping the agent.',
  already: 'Already stopping the agent.',
  not_running: 'The agent is not running.',
  not_allowed: NOT_YOURS_TO_STEER,
  wrong_message: NOT_FROM_ITS_MESSAGE,
} as const;

/** Stop: interrupts the agent's current turn, once, for the session's own person only. */
export const sessionStop = sessionControl('stop', (outcome) => REPLIES[outcome]);
