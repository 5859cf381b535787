import type { BetaManagedAgentsSessionAgent } from '@anthropic-ai/sdk/resources/beta/sessions/sessions';
import type { McpToolInfo, ToolResultBlock } from './mcp-gateway.js';

/**
 * The scripted agent. Instead of a model, each `user.message` is handed to an AgentScript,
 * which decides what the agent says and which MCP tools it calls. The runtime around it does
 * what the platform does: status and span events, permission policies, approvals, vault
 * credentials, MCP calls and their result events.
 *
 * To script the agent differently, pass `script` to `ManagedAgentsEmulator.start` or assign
 * `emulator.script`: either a whole AgentScript, or `ruleScript([...rules], fallback)`.
 */
export interface AgentScript {
  /** Plays one turn. Called once per `user.message`, in order; the turn ends when this settles. */
  respond(turn: AgentTurn): Promise<void>;
}

/** A tool the agent can see: served by one of its MCP servers and enabled by its mcp_toolset. */
export interface AgentTool {
  /** `mcp_servers[].name` of the agent. */
  readonly serverName: string;
  /** The raw MCP tool name. */
  readonly name: string;
  readonly description?: string;
  readonly annotations?: McpToolInfo['annotations'];
  readonly inputSchema: unknown;
}

export interface ToolCallOutcome {
  /**
   * `ok`: the tool ran. `tool_error`: it ran and reported an error. `denied`: the user or the
   * permission policy refused it. `failed`: the MCP server could not be reached or authenticated.
   */
  readonly status: 'ok' | 'tool_error' | 'denied' | 'failed';
  /** The result's text, or why there is none. */
  readonly text: string;
  readonly content: readonly ToolResultBlock[];
}

export interface AgentTurn {
  /** The text of the user.message (its text blocks joined by newlines), not the material tagged with it. */
  readonly prompt: string;
  readonly session: {
    readonly id: string;
    readonly metadata: Readonly<Record<string, string>>;
    readonly vault_ids: readonly string[];
    readonly agent: BetaManagedAgentsSessionAgent;
  };
  /** Aborted when the turn is interrupted (`user.interrupt`) or the session goes away. */
  readonly signal: AbortSignal;
  /** Emits an `agent.message`. */
  say(text: string): void;
  /**
   * Emits a `session.error` the platform is still retrying (a model overload), as the real one does
   * before a retry that succeeds: the turn goes on.
   */
  stumble(): void;
  /** The model declines to go on: the turn ends there with `stop_reason` `refusal`. */
  decline(): never;
  /**
   * The tools the agent can use now. Connects to each MCP server with the session's vault
   * credentials; a server that fails emits `session.error` and contributes no tools. Tools with
   * `enabled: false` are not there at all.
   */
  tools(): Promise<readonly AgentTool[]>;
  /**
   * Calls a tool as the platform would: `agent.mcp_tool_use` with the evaluated permission, a
   * `requires_action` pause for `always_ask` until the user's `user.tool_confirmation`, the MCP
   * call with the vault credential, and `agent.mcp_tool_result`.
   */
  callTool(tool: AgentTool, input: Record<string, unknown>): Promise<ToolCallOutcome>;
}

/** One rule of a rule-based script: the first rule whose `match` returns non-null runs. */
export interface AgentRule {
  readonly description: string;
  /** The rule's argument taken from the prompt, or null when the rule does not apply. */
  match(prompt: string): string | null;
  run(turn: AgentTurn, argument: string): Promise<void>;
}

export function ruleScript(
  rules: readonly AgentRule[],
  fallback: (turn: AgentTurn) => Promise<void> | void,
): AgentScript {
  return {
    async respond(turn) {
      for (const rule of rules) {
        const argument = rule.match(turn.prompt);
        if (argument !== null) return rule.run(turn, argument);
      }
      await fallback(turn);
    },
  };
}

const capture =
  (pattern: RegExp) =>
  (prompt: string): string | null => {
    const found = pattern.exec(prompt.trim())?.[1];
    const argument = found?.trim().replace(/^["'“”]+|["'“”.!?]+$/g, '');
    return argument ? argument : null;
  };

/** Prefers a tool named like "search", then any tool its server marks `readOnlyHint`. */
export function findSearchTool(tools: readonly AgentTool[]): AgentTool | undefined {
  return (
    tools.find((t) => t.name.toLowerCase().includes('search')) ??
    tools.find((t) => t.annotations?.readOnlyHint)
  );
}

export function findCreateTool(tools: readonly AgentTool[]): AgentTool | undefined {
  return tools.find((t) => t.name.toLowerCase().includes('create'));
}

function summarise(tool: AgentTool, outcome: ToolCallOutcome, success: string): string {
  switch (outcome.status) {
    case 'ok':
      return `${success}\n${inWords(outcome.text)}`;
    case 'tool_error':
      return `${tool.name} on ${tool.serverName} reported an error: ${outcome.text}`;
    case 'denied':
      return `I did not run ${tool.name}: ${outcome.text}`;
    case 'failed':
      return `I could not use ${tool.serverName}: ${outcome.text}`;
  }
}

/**
 * A tool's result as a model would put it in its answer: a list as lines naming each item, a record
 * by its title and id; not the JSON it came as. Text that is not JSON is kept as it is.
 */
function inWords(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const named = (item: unknown): string => {
    if (!item || typeof item !== 'object') return String(item);
    const { title, name, id } = item as Record<string, unknown>;
    const label = title ?? name;
    if (label !== undefined) return `“${String(label)}”${id !== undefined ? ` (${String(id)})` : ''}`;
    return Object.entries(item)
      .map(([key, field]) => `${key} ${String(field)}`)
      .join(', ');
  };
  const list = Array.isArray(value)
    ? value
    : value && typeof value === 'object'
      ? Object.values(value).find(Array.isArray)
      : undefined;
  if (list) return list.length === 0 ? 'Nothing matched.' : list.map((item) => `• ${named(item)}`).join('\n');
  return `Result: ${named(value)}.`;
}

/** "create a page titled X" (anywhere in the prompt) → a tool named like "create" with `{title: X}`. */
export const createPageRule: AgentRule = {
  description: 'create a page titled X → call a "create" tool with {title: X}',
  match: capture(/\bcreate\s+a\s+page\s+titled\s+(.+)$/is),
  run: (turn, title) => createWith(turn, title),
};

/** "search X" / "find X" (at the start, "for" optional) → a search/read-only tool with `{query: X}`. */
export const searchRule: AgentRule = {
  description: 'search X / find X → call a search or read-only tool with {query: X}',
  match: capture(/^(?:please\s+)?(?:search|find)\b(?:\s+for)?\s+(.+)$/is),
  async run(turn, query) {
    const tool = findSearchTool(await turn.tools());
    if (!tool) {
      turn.say(`No search tool is available to me, so I cannot search for "${query}".`);
      return;
    }
    const outcome = await turn.callTool(tool, { query });
    turn.say(summarise(tool, outcome, `Here is what ${tool.name} found for "${query}":`));
  },
};

/** "write X" (at the start) → a tool named like "create" with `{title: X}`. */
export const writeRule: AgentRule = {
  description: 'write X → call a "create" tool with {title: X}',
  match: capture(/^(?:please\s+)?write\s+(.+)$/is),
  run: (turn, title) => createWith(turn, title),
};

async function createWith(turn: AgentTurn, title: string): Promise<void> {
  const tool = findCreateTool(await turn.tools());
  if (!tool) {
    turn.say(`No tool that creates pages is available to me, so I cannot create "${title}".`);
    return;
  }
  const outcome = await turn.callTool(tool, { title });
  turn.say(summarise(tool, outcome, `Created "${title}" with ${tool.name}.`));
}

/**
 * "answer at length N" → one agent.message of exactly N characters (at most 100,000): numbered lines
 * with a few characters Slack's mrkdwn must escape, so a long answer can be checked for being whole.
 */
export const longAnswerRule: AgentRule = {
  description: 'answer at length N → one agent.message of N characters',
  match: capture(/^answer\s+at\s+length\s+(\d{1,6})$/i),
  async run(turn, length) {
    const wanted = Math.min(Number(length), 100_000);
    let text = '';
    for (let line = 1; text.length < wanted; line += 1) text += `line ${line}: a < b & c > d, and so on.\n`;
    // Ends in a visible character: an answer's surrounding whitespace is not part of it.
    turn.say(text.slice(0, wanted).replace(/\s$/, '.'));
  },
};

/** "stumble then answer" → a retrying model overload, then the answer: a transient error, not a failure. */
export const stumbleRule: AgentRule = {
  description: 'stumble then answer → a retrying session.error, then an answer',
  match: capture(/^(stumble then answer)$/i),
  async run(turn) {
    turn.stumble();
    turn.say('Answered after a retry.');
  },
};

/** "give up" → the turn fails the way a platform failure would: an error, then `retries_exhausted`. */
export const giveUpRule: AgentRule = {
  description: 'give up → the turn ends with retries_exhausted',
  match: capture(/^(give up)$/i),
  async run() {
    // A provider that echoes a credential in its error, as some do: Deputy must mask it.
    throw new Error(
      'the model request kept failing (upstream said: invalid key ghp_0123456789abcdefghijABCDEFGHIJ)',
    );
  },
};

/** "refuse" → the model declines the request: the turn ends with `refusal` and no answer. */
export const refuseRule: AgentRule = {
  description: 'refuse → the turn ends with refusal',
  match: capture(/^(refuse)$/i),
  async run(turn) {
    turn.decline();
  },
};

/** Anything else: one agent.message that answers by echoing the prompt. */
export function echoPrompt(turn: AgentTurn): void {
  turn.say(`You said: ${turn.prompt}`);
}

export const defaultRules: readonly AgentRule[] = [
  createPageRule,
  searchRule,
  writeRule,
  longAnswerRule,
  giveUpRule,
  stumbleRule,
  refuseRule,
];

/**
 * The default script, rules tried in order, case-insensitive:
 * 1. "create a page titled X" → a tool whose name contains "create", input `{title: X}`.
 * 2. "search X" / "find X" → a tool whose name contains "search", else the first tool marked
 *    readOnlyHint, input `{query: X}`.
 * 3. "write X" → a tool whose name contains "create", input `{title: X}`.
 * 4. "answer at length N" → one agent.message of N characters.
 * 5. "give up" → an error, and the turn ends with `retries_exhausted`.
 *    "stumble then answer" → a `session.error` still retrying, then an answer.
 *    "refuse" → no answer, and the turn ends with `refusal`.
 * 6. Otherwise a single agent.message "You said: <prompt>".
 * After a tool call the agent sends one agent.message summarising the result (or the denial or
 * failure); with no suitable tool it says that none is available.
 */
export const defaultAgentScript: AgentScript = ruleScript(defaultRules, echoPrompt);
