import {
  type ConnectionSummary,
  type SlackMessage,
  statusMessage,
  type VaultState,
} from '../../../blocks/messages.js';
import type { Principal } from '../../../identity/principal.js';
import type { Services } from '../../../services.js';
import { VaultMismatchError } from '../../../vaults/vault-service.js';

/**
 * `/agent status`: the caller's principal, their vault (created on first need) and its connections.
 * A vault that fails its ownership check is shown as refused, never used.
 */
export async function agentStatus(
  services: Services,
  principal: Principal,
  correlationId: string,
): Promise<SlackMessage> {
  let vault: VaultState;
  let connections: ConnectionSummary[] = [];
  try {
    const ensured = await services.vaults.ensure(principal, correlationId);
    vault = { kind: 'ready', vaultId: ensured.id, createdNow: ensured.created, createdAt: ensured.createdAt };
    connections = await services.vaults.connections(ensured.id);
  } catch (error) {
    if (error instanceof VaultMismatchError) {
      vault = { kind: 'refused', vaultId: error.vaultId };
    } else {
      services.logger.error('status could not reach the vault', { error: String(error), correlationId });
      vault = { kind: 'unavailable', reference: correlationId };
    }
  }
  return statusMessage({ principal, vault, connections });
}
