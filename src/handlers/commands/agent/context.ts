import type { Principal } from '../../../identity/principal.js';

/** What a `/agent` subcommand knows of the request: who, from where, and how to answer. */
export interface CommandContext {
  principal: Principal;
  correlationId: string;
  channelId: string;
  responseUrl: string;
  triggerId: string;
}
