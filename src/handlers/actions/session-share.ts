import { NOT_FROM_ITS_MESSAGE, NOT_YOURS_TO_STEER, sharedAnswer } from '../../blocks/sessions.js';
import { sessionControl } from './session-control.js';

const REFUSALS = {
  already: 'This result was already shared.',
  not_running: 'The agent is still working; share the result once it is done.',
  not_allowed: NOT_YOURS_TO_STEER,
  wrong_message: NOT_FROM_ITS_MESSAGE,
  cannot_post:
    'Deputy cannot post in that channel (it is not a member there, the channel is archived, or posting is restricted), so nothing was shared. Add Deputy to the channel (type /invite @Deputy in it), then click Share again.',
  private_channel:
    'That channel is private and Deputy is not in it, so nothing was shared. Add Deputy to it (type /invite @Deputy in the channel), then click Share again.',
} as const;

/** Share to channel: the result goes to the channel the session was run in, once, on its own person's click. */
export const sessionShare = sessionControl('share', (outcome) =>
  typeof outcome === 'string' ? REFUSALS[outcome] : sharedAnswer(outcome),
);
