import { sessionControl } from './session-control.js';

/** Stop: interrupts the agent, for the session's own person only. */
export const sessionStop = sessionControl('stop', 'Stopping the agent.');
