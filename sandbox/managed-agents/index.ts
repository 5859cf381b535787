/**
 * Emulator of the Claude Managed Agents API (see docs/architecture.md#the-sandbox).
 *
 *   const emulator = await ManagedAgentsEmulator.start();
 *   const client = new Anthropic({ apiKey: emulator.apiKey, baseURL: emulator.url });
 *
 * Inspect what clients did with `emulator.requests`, `vaults()`, `credentials()`, `sessions()`,
 * `events(id)`; wait for the agent with `settled(id)`; change its behaviour with
 * `emulator.script = ruleScript([...], fallback)` (see script.ts for the default rules).
 */
export {
  FAIL_POINTS,
  type FailPoint,
  type FaultHandle,
  type InjectedFault,
  MANAGED_AGENTS_BETA,
  ManagedAgentsEmulator,
  type ManagedAgentsEmulatorOptions,
  type RecordedRequest,
} from './emulator.js';
export type { McpToolInfo, ToolResultBlock } from './mcp-gateway.js';
export {
  type AgentRule,
  type AgentScript,
  type AgentTool,
  type AgentTurn,
  createPageRule,
  defaultAgentScript,
  defaultRules,
  echoPrompt,
  findCreateTool,
  findSearchTool,
  ruleScript,
  searchRule,
  type ToolCallOutcome,
  writeRule,
} from './script.js';
export type { CredentialSecrets, ValidationStatus } from './store.js';
export { type SignedWebhook, signWebhook } from './webhooks.js';
