import type { Logger } from '../logger.js';
import type { SlackDirectory } from '../slack/directory.js';
import { type Principal, samePerson } from './principal.js';

/** What someone asks to do to a session (or to a run that has not started yet). */
export type SessionAct = 'follow_up' | 'stop' | 'share' | 'start' | 'decide' | 'read_results';

/** The parts of a session (or run intent) that say who steers it. */
export interface Steered {
  principal: Principal;
  /** The agent's approver group, whose members may also decide on held tool calls. */
  approverGroup?: string;
}

/** Whether Deputy still acts for someone at all (the store's standing records answer it). */
export interface StandingCheck {
  refusal(principal: Principal): Promise<string | undefined>;
}

/**
 * Who may steer a session: its own person, for everything; and for deciding on a held tool call,
 * also the members of the agent's approver group; in either case only while Deputy still acts for
 * them (they have not left, been suspended, or had the app removed from their workspace). Every
 * surface that acts on a session asks this.
 */
export class Steering {
  constructor(
    private readonly deps: { directory: SlackDirectory; standing: StandingCheck; logger: Logger },
  ) {}

  async mayAct(person: Principal, session: Steered, act: SessionAct): Promise<boolean> {
    if (await this.deps.standing.refusal(person)) return false;
    if (samePerson(person, session.principal)) return true;
    if (act !== 'decide' || !session.approverGroup) return false;
    // An approver acts for the session's owner: not for someone Deputy no longer acts for.
    if (await this.deps.standing.refusal(session.principal)) return false;
    try {
      return (await this.deps.directory.groupMembers(session.approverGroup)).includes(person.userId);
    } catch (error) {
      // Fail closed: without Slack's answer nobody but the owner decides.
      this.deps.logger.warn('approver group not readable', { error: String(error) });
      return false;
    }
  }
}
