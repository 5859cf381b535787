import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { plainMessage, RunOnMessageBlocks } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerRunByDm, startedMessage } from '../commands/agent/run.js';
import type { Surfaces } from '../index.js';
import { privateMetadata, ViewState } from '../view-state.js';

const metadataSchema = z.object({ pendingId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/) });
const agentName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/);

/**
 * The message shortcut's modal → Run: the run starts as the person who submitted it, with the
 * message as context; its answers come by DM (the modal closes at once, as Slack needs), and where
 * the shortcut was used only they see a link to it.
 */
export function runOnMessageSubmission({ sessions, outbox }: Pick<Surfaces, 'sessions' | 'outbox'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const principal = principalFromInteraction(body);
    const state = new ViewState(view.state.values);
    const metadata = privateMetadata(metadataSchema, view.private_metadata);
    const agent = agentName.safeParse(state.selected(RunOnMessageBlocks.agent));
    const prompt = state.text(RunOnMessageBlocks.prompt).slice(0, 3000);
    if (!metadata)
      return ack({
        response_action: 'errors',
        errors: { [RunOnMessageBlocks.prompt]: 'This form is out of date; use the shortcut again.' },
      });
    if (!agent.success)
      return ack({ response_action: 'errors', errors: { [RunOnMessageBlocks.agent]: 'Pick an agent.' } });
    if (!prompt)
      return ack({
        response_action: 'errors',
        errors: { [RunOnMessageBlocks.prompt]: 'Say what it should do.' },
      });
    await ack();
    const outcome = await sessions.runOnMessage(
      principal,
      { pendingId: metadata.pendingId, agentName: agent.data, prompt },
      String(context.correlationId),
    );
    if (outcome.kind === 'started') {
      // Where the shortcut was used, only they are told, with a link to the thread once it exists
      // (where Deputy is not a member, Slack refuses it: the DM thread is where they look then).
      const started = outcome.session;
      return started.open(async (session) => {
        await outbox
          .ephemeral(
            { channelId: started.channelId, userId: principal.userId },
            startedMessage(started, session.permalink),
          )
          .catch(() => undefined);
      });
    }
    if (outcome.kind !== 'expired')
      return answerRunByDm(
        outbox,
        principal.userId,
        outcome,
        'Say what the agent should do with the message.',
      );
    await outbox
      .toPerson(
        principal.userId,
        plainMessage(
          'That run was already asked for, or its form was open too long. Use the shortcut again.',
        ),
      )
      .catch(() => undefined);
  };
}
