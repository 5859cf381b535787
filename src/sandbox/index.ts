import type { ClientOptions } from '@anthropic-ai/sdk';
import type { SlackConnection } from '../app.js';
import type { Clock } from '../clock.js';
import { opaqueToken } from '../ids.js';
import type { Logger } from '../logger.js';
import { ManagedAgentsEmulator } from './managed-agents/emulator.js';
import { ProviderEmulator } from './provider/emulator.js';
import { SlackEmulator } from './slack/emulator.js';

/** The emulated outside world that `npm start` without credentials runs against (DESIGN.md §8). */
export interface Sandbox {
  readonly slack: SlackEmulator;
  readonly managedAgents: ManagedAgentsEmulator;
  readonly provider: ProviderEmulator;
  /** Shared by the app and whatever plays Slack's part in sending it signed requests. */
  readonly signingSecret: string;
  readonly slackConnection: SlackConnection;
  readonly anthropicOptions: ClientOptions & { apiKey: string; baseURL: string };
  close(): Promise<void>;
}

export async function startSandbox(options: { logger?: Logger; clock?: Clock } = {}): Promise<Sandbox> {
  const { clock } = options;
  const slack = await SlackEmulator.start({ clock });
  const managedAgents = await ManagedAgentsEmulator.start({ clock });
  const provider = await ProviderEmulator.start({ clock });
  const signingSecret = opaqueToken(24);
  options.logger?.debug('sandbox started', {
    slack: slack.url,
    managedAgents: managedAgents.url,
    provider: provider.url,
  });
  return {
    slack,
    managedAgents,
    provider,
    signingSecret,
    slackConnection: { signingSecret, botToken: slack.botToken, apiUrl: slack.apiUrl },
    anthropicOptions: { apiKey: managedAgents.apiKey, baseURL: managedAgents.url },
    close: async () => {
      await Promise.all([slack.close(), managedAgents.close(), provider.close()]);
    },
  };
}
