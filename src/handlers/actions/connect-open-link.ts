import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';

/** A Connect/Reconnect link button: the browser does the work; Slack only needs the click acked. */
export async function connectOpenLink({
  ack,
}: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) {
  await ack();
}
