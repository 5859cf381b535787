import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { PASTE_TOKEN_ACTION, PASTE_TOKEN_BLOCK } from '../../blocks/connections.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { Surfaces } from '../index.js';
import { SUBMISSION_BUDGET_MS } from '../slack-limits.js';
import { privateMetadata, ViewState } from '../view-state.js';

/** `private_metadata` comes back through the client, so it is checked like any other input. */
const metadataSchema = z.object({ connectorId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/) });
const tokenSchema = z
  .string()
  .trim()
  .min(8, 'That is too short to be a token.')
  .max(3000, 'That is too long to be a token.')
  .regex(/^\S+$/, 'A token has no spaces in it.');

/** The pasted token: checked against the server, then (after the modal closes) into the submitter's vault. */
export function pasteTokenSubmission({ connections }: Pick<Surfaces, 'connections'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const correlationId = String(context.correlationId);
    const inlineError = (message: string) =>
      ack({ response_action: 'errors', errors: { [PASTE_TOKEN_BLOCK]: message } });
    const metadata = privateMetadata(metadataSchema, view.private_metadata);
    const token = tokenSchema.safeParse(
      new ViewState(view.state.values).text(PASTE_TOKEN_BLOCK, PASTE_TOKEN_ACTION),
    );
    if (!metadata) return inlineError('This connector cannot take a pasted token.');
    const principal = principalFromInteraction(body);
    if (!(await connections.pasteableConnector(metadata.connectorId)))
      return inlineError('This connector cannot take a pasted token.');
    if (!token.success) return inlineError(token.error.issues[0]?.message ?? 'That is not a token.');
    const check = await connections.checkPastedToken(
      principal,
      metadata.connectorId,
      token.data,
      correlationId,
      {
        answerWithinMs: SUBMISSION_BUDGET_MS,
      },
    );
    switch (check.kind) {
      case 'not_pasteable':
        return inlineError('This connector cannot take a pasted token.');
      case 'rejected':
        return inlineError(`${check.connector.name} did not accept that token.`);
      case 'slow':
        return inlineError(`${check.connector.name} did not answer in time. Please try again.`);
      case 'accepted':
        // Accepted: close the modal now, save after the ack; the person hears how it went.
        await ack();
        await connections.savePastedToken(principal, check, token.data, correlationId);
    }
  };
}
