import { NOT_FROM_ITS_MESSAGE, NOT_YOURS_TO_STEER } from '../../blocks/sessions.js';
import { sessionControl } from './session-control.js';

/** Share to channel: the result goes to the channel the session was run in, once, on its own person's click. */
export const sessionShare = sessionControl('share', {
  done: 'Shared.',
  already: 'This result was already shared.',
  not_running: 'The agent is still working; share the result once it is done.',
  not_allowed: NOT_YOURS_TO_STEER,
  wrong_message: NOT_FROM_ITS_MESSAGE,
});
