import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { PASTE_TOKEN_ACTION, PASTE_TOKEN_BLOCK } from '../../blocks/connections.js';
import { PastedTokenRejected } from '../../connections/connections-service.js';
import type { DiscoveredTool } from '../../connections/tool-discovery.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Services } from '../../services.js';
import { metadataJson } from '../view-state.js';
import { withinBudget } from '../within-budget.js';

/** `private_metadata` comes back through the client, so it is checked like any other input. */
const metadataSchema = z.object({ connectorId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/) });
const tokenSchema = z
  .string()
  .trim()
  .min(8, 'That is too short to be a token.')
  .max(4000, 'That is too long to be a token.')
  .regex(/^\S+$/, 'A token has no spaces in it.');

/** The pasted token: checked against the server, then straight into the submitter's vault. */
export function pasteTokenSubmission(services: Services) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const correlationId = String(context.correlationId);
    const inlineError = (message: string) =>
      ack({ response_action: 'errors', errors: { [PASTE_TOKEN_BLOCK]: message } });
    const metadata = metadataSchema.safeParse(metadataJson(view.private_metadata));
    const connector = metadata.success
      ? await services.connections.connector(metadata.data.connectorId)
      : undefined;
    if (connector?.auth.type !== 'static_token')
      return inlineError('This connector cannot take a pasted token.');
    const token = tokenSchema.safeParse(
      view.state.values[PASTE_TOKEN_BLOCK]?.[PASTE_TOKEN_ACTION]?.value ?? '',
    );
    if (!token.success) return inlineError(token.error.issues[0]?.message ?? 'That is not a token.');
    const principal = principalFromInteraction(body);
    let tools: DiscoveredTool[];
    try {
      tools = await withinBudget(
        services.clock,
        services.connections.checkPastedToken(principal, connector, token.data, correlationId),
      );
    } catch (error) {
      if (error instanceof PastedTokenRejected)
        return inlineError(`${connector.name} did not accept that token.`);
      services.logger.warn('pasted token check failed', { error: String(error), correlationId });
      return inlineError(`${connector.name} did not answer in time. Please try again.`);
    }
    // Accepted: close the modal now, save after the ack, and tell the person how it went.
    await ack();
    try {
      await services.connections.store(
        principal,
        connector,
        { type: 'static_bearer', token: token.data },
        correlationId,
        tools,
      );
      await services.notices.connected(principal, connector);
    } catch (error) {
      services.logger.error('saving a pasted token failed', { error: String(error), correlationId });
      await services.notices.failed(principal, connector, 'Deputy could not save it; please try again.');
    }
  };
}
