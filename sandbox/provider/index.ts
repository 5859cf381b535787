export { type ConsentRedirect, consentInBrowser } from './browser.js';
export type { PreRegisteredClient } from './clients.js';
export { ProviderEmulator, type TokenInfo } from './emulator.js';
export {
  DEFAULT_ACCOUNTS,
  DEFAULT_BEHAVIOUR,
  DEFAULT_SCOPES,
  type ProviderAccount,
  type ProviderBehaviour,
  type ProviderEmulatorOptions,
} from './options.js';
export type { Page } from './pages.js';
export type {
  AuthorizationRecord,
  ClientAuthMethod,
  McpRequestRecord,
  RegisteredClient,
  RegistrationRecord,
  RevocationRecord,
  TokenRequestRecord,
  ToolCallRecord,
} from './state.js';
export {
  defaultTools,
  defineTool,
  errorResult,
  jsonResult,
  type ProviderTool,
  type ToolContext,
} from './tools.js';
