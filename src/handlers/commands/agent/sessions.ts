import { section } from '../../../blocks/elements.js';
import type { SlackMessage } from '../../../blocks/messages.js';
import { type Principal, principalKey } from '../../../identity/principal.js';
import type { Services } from '../../../services.js';

/** `/agent sessions`: the caller's recent sessions, newest first. */
export async function agentSessions(services: Services, principal: Principal): Promise<SlackMessage> {
  const sessions = await services.store.sessions.byOwner(principalKey(principal));
  if (sessions.length === 0)
    return {
      text: 'You have no sessions yet.',
      blocks: [section('You have no sessions yet. Start one with `/agent run`.')],
    };
  const lines = sessions.map(
    (s) =>
      `• *${s.agentName}* · ${s.status} · ${s.createdAt.slice(0, 16).replace('T', ' ')} UTC · in your DM with me (thread ${s.threadTs})`,
  );
  return {
    text: `Your ${sessions.length} most recent sessions.`,
    blocks: [section(`*Your recent sessions*\n${lines.join('\n')}`)],
  };
}
