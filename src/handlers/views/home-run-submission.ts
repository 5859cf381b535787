import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { homeView } from '../../blocks/home.js';
import { RunOnMessageBlocks } from '../../blocks/sessions.js';
import { principalFromInteraction } from '../../identity/principal.js';
import { answerRunByDm } from '../commands/agent/run.js';
import type { Surfaces } from '../index.js';
import { privateMetadata, ViewState } from '../view-state.js';

const metadataSchema = z.object({ agentName: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/) });

/**
 * Run from the Home tab → Run: a run as the person, from their DM with Deputy (where its thread is),
 * once per modal, and the Home tab published again to list it. Whether they may run the agent is
 * checked as for any run.
 */
export function homeRunSubmission({
  sessions,
  connections,
  outbox,
}: Pick<Surfaces, 'sessions' | 'connections' | 'outbox'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const principal = principalFromInteraction(body);
    const metadata = privateMetadata(metadataSchema, view.private_metadata);
    const prompt = new ViewState(view.state.values).text(RunOnMessageBlocks.prompt).slice(0, 3000);
    if (!metadata)
      return ack({
        response_action: 'errors',
        errors: { [RunOnMessageBlocks.prompt]: 'This form is out of date; press Run on the Home tab again.' },
      });
    if (!prompt)
      return ack({
        response_action: 'errors',
        errors: { [RunOnMessageBlocks.prompt]: 'Say what it should do.' },
      });
    await ack();
    const channelId = await outbox.directMessageChannel(principal.userId);
    const outcome = await sessions.run(
      principal,
      { text: `--agent ${metadata.agentName} ${prompt}`, channelId, dedupeKey: `home:${view.id}` },
      String(context.correlationId),
    );
    if (outcome.kind !== 'started')
      return answerRunByDm(outbox, principal.userId, outcome, 'Say what the agent should do.');
    // They are on the Home tab: once its thread exists, the Home lists the new session, linked.
    outcome.session.open(async () => {
      await outbox
        .publishHome(principal.userId, homeView(await connections.home(principal)))
        .catch(() => undefined);
    });
  };
}
