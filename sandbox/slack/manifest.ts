import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * What the app's manifest.yml tells Slack, as the emulator needs it: the bot scopes an installed
 * app's token carries, the message shortcuts Slack offers on every message, and the events it is
 * sent. Read once: the manifest is the product's, not the sandbox's.
 */
const manifestSchema = z.object({
  features: z
    .object({
      shortcuts: z
        .array(z.object({ name: z.string(), type: z.string(), callback_id: z.string() }))
        .default([]),
    })
    .default({ shortcuts: [] }),
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()).min(1) }) }),
  settings: z
    .object({ event_subscriptions: z.object({ bot_events: z.array(z.string()).default([]) }).optional() })
    .default({}),
});

export interface AppManifest {
  botScopes: string[];
  messageShortcuts: Array<{ callbackId: string; name: string }>;
  botEvents: string[];
}

let read: AppManifest | undefined;

export function appManifest(): AppManifest {
  if (read) return read;
  const parsed = manifestSchema.safeParse(
    parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')),
  );
  if (!parsed.success) throw new Error(`manifest.yml is not one Slack would take: ${parsed.error.message}`);
  const { features, oauth_config, settings } = parsed.data;
  read = {
    botScopes: oauth_config.scopes.bot,
    messageShortcuts: features.shortcuts
      .filter((s) => s.type === 'message')
      .map((s) => ({ callbackId: s.callback_id, name: s.name })),
    botEvents: settings.event_subscriptions?.bot_events ?? [],
  };
  return read;
}
