import { sessionControl } from './session-control.js';

/** Share to channel: the result goes to the channel the session was run in, on its own person's click. */
export const sessionShare = sessionControl('share', 'Shared.');
