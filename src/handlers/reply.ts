import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from '../blocks/messages.js';
import type { Logger } from '../logger.js';

export interface PrivateReplyTarget {
  respond: RespondFn;
  client: WebClient;
  channelId: string;
  userId: string;
  logger: Logger;
}

/**
 * Answers the person privately: through the request's response_url, else an ephemeral message in
 * the channel, else a DM from the app (response_url expires after 30 minutes or 5 uses, and
 * postEphemeral fails where the bot is not a member).
 */
export async function replyPrivately(target: PrivateReplyTarget, message: SlackMessage): Promise<void> {
  try {
    await target.respond({ response_type: 'ephemeral', replace_original: false, ...message });
    return;
  } catch (error) {
    target.logger.warn('response_url reply failed; falling back to an ephemeral message', {
      error: String(error),
    });
  }
  try {
    await target.client.chat.postEphemeral({ channel: target.channelId, user: target.userId, ...message });
    return;
  } catch (error) {
    target.logger.warn('ephemeral reply failed; falling back to a DM', { error: String(error) });
  }
  const dm = await target.client.conversations.open({ users: target.userId });
  if (!dm.channel?.id) throw new Error('conversations.open returned no channel');
  await target.client.chat.postMessage({ channel: dm.channel.id, ...message });
}
