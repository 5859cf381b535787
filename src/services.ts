import type Anthropic from '@anthropic-ai/sdk';
import type { AuditLog } from './audit/audit-log.js';
import type { Clock } from './clock.js';
import type { IdSource } from './ids.js';
import type { Logger } from './logger.js';
import type { Store } from './store/index.js';
import type { VaultService } from './vaults/vault-service.js';

/** What listeners and routes are given: every dependency passed in, none imported as a singleton. */
export interface Services {
  store: Store;
  anthropic: Anthropic;
  vaults: VaultService;
  audit: AuditLog;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
}
