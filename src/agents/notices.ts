/** What changed on a server's tools, for the admins who set up the agents that use it. */
export interface ToolsChanged {
  serverUrl: string;
  /** The agents that use the server. */
  agents: string[];
  /** Tools whose description or schema changed since review (held back until reviewed again). */
  changed: string[];
  /** Tools seen for the first time (off until enabled). */
  added: string[];
  /** Agents published again without the changed tools. */
  republished: string[];
}

/** What admins are told about agents (the outbox says it; agents never render or send a message). */
export interface AgentNotices {
  /** Each of `userIds` gets a DM about the change; one that cannot be reached does not stop the others. */
  toolsChanged(userIds: string[], change: ToolsChanged): Promise<void>;
}
