import type { AgentScript, AgentTool, AgentTurn } from '../../sandbox/managed-agents/script.js';

/** One thing a live session does during the measured window, at `atMs` after its release. */
export interface PlannedStep {
  atMs: number;
  kind: 'message' | 'tool';
}

/**
 * The scripted agent of the load run. Prompts say what a session does:
 * - `quick …`: ends its turn at once, saying nothing;
 * - `answer …`: uses the search tool once, then answers;
 * - `wait …`: calls create_page, which its agent holds for a decision (the session waits);
 * - `live GROUP …`: waits for GROUP's release, plays the plan it is given then (messages, tool
 *   calls), then waits for GROUP's end, saying a marker first when the end asks for one.
 * Every message a live session says carries a marker whose emission time is kept, so the time
 * to the Slack call that shows it can be measured.
 */
export class LoadScript implements AgentScript {
  /** Marker → when the emulator emitted the message that carries it (ms). */
  readonly emitted = new Map<string, number>();
  private readonly gates = new Map<string, Gate<GroupRelease>>();
  private readonly ends = new Map<string, Gate<'finish' | 'mark'>>();
  private markers = 0;

  /** Lets GROUP's sessions play: each asks `plan` for its steps. */
  release(group: string, plan: (sessionId: string) => PlannedStep[]): void {
    this.gate(this.gates, group).open({ plan });
  }

  /** Ends GROUP's turns; with `mark`, each session first says a marker (kept under its session id). */
  end(group: string, how: 'finish' | 'mark'): void {
    this.gate(this.ends, group).open(how);
  }

  async respond(turn: AgentTurn): Promise<void> {
    const [kind, group] = turn.prompt.trim().split(/\s+/);
    if (kind === 'quick') return;
    if (kind === 'answer') {
      const search = await this.tool(turn, 'search');
      await turn.callTool(search, { query: turn.prompt });
      turn.say(`Here is what I found for ${turn.prompt}.`);
      return;
    }
    if (kind === 'wait') {
      const create = await this.tool(turn, 'create_page');
      await turn.callTool(create, { title: turn.prompt, content: 'load' });
      return;
    }
    if (kind === 'live' && group) {
      const { plan } = await this.gate(this.gates, group).opened;
      const search = await this.tool(turn, 'search');
      const started = Date.now();
      for (const step of plan(turn.session.id)) {
        const wait = started + step.atMs - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (turn.signal.aborted) return;
        if (step.kind === 'tool') await turn.callTool(search, { query: 'load' });
        else this.say(turn, `m${this.markers++}`);
      }
      const how = await this.gate(this.ends, group).opened;
      if (how === 'mark') this.say(turn, `k-${turn.session.id}`);
      return;
    }
    turn.say('The load script does not know this prompt.');
  }

  private say(turn: AgentTurn, marker: string): void {
    this.emitted.set(marker, Date.now());
    turn.say(`Update [${marker}]`);
  }

  private async tool(turn: AgentTurn, name: string): Promise<AgentTool> {
    const tool = (await turn.tools()).find((t) => t.name === name);
    if (!tool) throw new Error(`the load agent has no ${name} tool`);
    return tool;
  }

  private gate<T>(gates: Map<string, Gate<T>>, group: string): Gate<T> {
    let gate = gates.get(group);
    if (!gate) {
      gate = new Gate<T>();
      gates.set(group, gate);
    }
    return gate;
  }
}

interface GroupRelease {
  plan: (sessionId: string) => PlannedStep[];
}

class Gate<T> {
  readonly opened: Promise<T>;
  open!: (value: T) => void;
  constructor() {
    this.opened = new Promise<T>((resolve) => {
      this.open = resolve;
    });
  }
}

/** The marker in a Slack message's text, if it carries one. */
export function markerIn(text: unknown): string | undefined {
  return typeof text === 'string' ? /\[(m\d+|k-[A-Za-z0-9_]+)\]/.exec(text)?.[1] : undefined;
}
