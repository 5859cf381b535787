export type { RecordedCall } from './call-log.js';
export {
  type BlockActionInput,
  type BlockActionWhere,
  type DriverResponse,
  SlackDriver,
  type SlackDriverOptions,
  type ViewSubmissionInput,
} from './driver.js';
export { SlackEmulator, type SlackEmulatorOptions } from './emulator.js';
export type { InjectedFailure } from './faults.js';
export {
  DEFAULT_SESSION_COOKIE,
  ID_TOKEN_LIFETIME_SECONDS,
  OIDC_CODE_LIFETIME_MS,
  OIDC_PATHS,
  OIDC_PENDING_LIFETIME_MS,
  OIDC_SCOPES,
  type SlackOidc,
} from './oidc.js';
export { RESPONSE_URL_LIFETIME_MS, RESPONSE_URL_MAX_USES, type ResponseUrlContext } from './response-urls.js';
export { signSlackRequest } from './signing.js';
export { TRIGGER_LIFETIME_MS, type TriggerContext } from './triggers.js';
export {
  DEFAULT_TEAM_ID,
  defaultSlackChannels,
  defaultSlackUserGroups,
  defaultSlackUsers,
  type SlackChannel,
  type SlackMessage,
  type SlackUser,
  type SlackUserGroup,
  type SlackView,
} from './workspace.js';
