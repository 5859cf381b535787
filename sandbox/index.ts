import { randomBytes } from 'node:crypto';
import type { ClientOptions } from '@anthropic-ai/sdk';
import type { Clock } from '../src/clock.js';
import type { Connector } from '../src/connections/catalog.js';
import type { SlackSignInSettings } from '../src/identity/slack-sign-in.js';
import { opaqueToken } from '../src/ids.js';
import type { Logger } from '../src/logger.js';
import type { SlackConnection } from '../src/slack/client.js';
import { ManagedAgentsEmulator } from './managed-agents/emulator.js';
import { ProviderEmulator } from './provider/emulator.js';
import { SlackEmulator } from './slack/emulator.js';

/** The emulated providers, one per way of connecting (docs/architecture.md#connect-flows). */
export interface SandboxProviders {
  /** MCP OAuth: discovery, dynamic client registration, PKCE, `resource`. */
  notion: ProviderEmulator;
  /** A pre-registered confidential OAuth client (no dynamic registration). */
  github: ProviderEmulator;
  /** A server that takes a pasted token (`issuePersonalToken` plays its settings page). */
  linear: ProviderEmulator;
}

/**
 * The emulated outside world that `npm start` without credentials runs against
 * (docs/architecture.md#the-sandbox).
 */
export interface Sandbox {
  readonly slack: SlackEmulator;
  readonly managedAgents: ManagedAgentsEmulator;
  readonly providers: SandboxProviders;
  /** Shared by the app and whatever plays Slack's part in sending it signed requests. */
  readonly signingSecret: string;
  readonly slackConnection: SlackConnection;
  readonly anthropicOptions: ClientOptions & { apiKey: string; baseURL: string };
  /** Sign in with Slack against the Slack emulator. */
  readonly signIn: SlackSignInSettings;
  readonly webhookSigningKey: string;
  /** The connector catalog of the sandbox: the emulated providers above. */
  readonly connectors: Connector[];
  close(): Promise<void>;
}

/** The provider emulators' read tools, vouched for by the sandbox's catalog. */
const SANDBOX_READ_ONLY_TOOLS = ['search', 'fetch_page'];

export async function startSandbox(options: {
  logger?: Logger;
  clock?: Clock;
  publicBaseUrl: string;
  /** Where Slack (and the workspace page) listens when that port is free; any free port otherwise. */
  slackPort?: number;
  /** Slack's rate tiers multiplied by this (default 1: Slack's own). */
  slackRateScale?: number;
}): Promise<Sandbox> {
  const { clock, publicBaseUrl } = options;
  const slackOptions = {
    clock,
    oidcRedirectUris: [`${publicBaseUrl}/auth/slack/callback`],
    ...(options.slackRateScale ? { rateTierScale: options.slackRateScale } : {}),
  };
  const slack = await SlackEmulator.start({ ...slackOptions, port: options.slackPort ?? 0 }).catch(() =>
    SlackEmulator.start(slackOptions),
  );
  const managedAgents = await ManagedAgentsEmulator.start({ clock });
  const providers: SandboxProviders = {
    notion: await ProviderEmulator.start({ clock, name: 'Notion (sandbox)' }),
    github: await ProviderEmulator.start({
      clock,
      name: 'GitHub (sandbox)',
      behaviour: { registration: 'absent' },
    }),
    linear: await ProviderEmulator.start({ clock, name: 'Linear (sandbox)' }),
  };
  const github = { clientId: 'sandbox-github-app', clientSecret: opaqueToken() };
  providers.github.registerClient({
    client_id: github.clientId,
    client_secret: github.clientSecret,
    redirect_uris: [`${publicBaseUrl}/oauth/callback`],
    client_name: 'Deputy',
    token_endpoint_auth_method: 'client_secret_basic',
  });
  // Slack signing secrets are 32 hexadecimal characters.
  const signingSecret = randomBytes(16).toString('hex');
  options.logger?.debug('sandbox started', { slack: slack.url, managedAgents: managedAgents.url });
  return {
    slack,
    managedAgents,
    providers,
    signingSecret,
    slackConnection: { signingSecret, botToken: slack.botToken, apiUrl: slack.apiUrl },
    anthropicOptions: { apiKey: managedAgents.apiKey, baseURL: managedAgents.url },
    signIn: {
      issuer: slack.oidc.issuer,
      clientId: slack.oidc.clientId,
      clientSecret: slack.oidc.clientSecret,
      allowInsecureIssuer: true,
    },
    webhookSigningKey: `whsec_${randomBytes(32).toString('base64')}`,
    connectors: [
      {
        id: 'notion',
        name: 'Notion (sandbox)',
        mcpServerUrl: providers.notion.mcpUrl,
        auth: { type: 'mcp_oauth' },
        readOnlyTools: SANDBOX_READ_ONLY_TOOLS,
        source: 'sandbox',
      },
      {
        id: 'github',
        name: 'GitHub (sandbox)',
        mcpServerUrl: providers.github.mcpUrl,
        auth: {
          type: 'oauth_client',
          authorizationUrl: `${providers.github.url}/authorize`,
          tokenUrl: `${providers.github.url}/token`,
          // GitHub's own API: deleting the app's grant (its API base is the emulator's root).
          revocation: { style: 'github_grant', url: providers.github.url },
          // Read for everyone; write only for people whose agents write with it.
          scopes: ['read'],
          writeScopes: ['write'],
          scopeParameter: 'scope',
          tokenResponse: 'standard',
          tokenEndpointAuth: 'client_secret_basic',
          ...github,
        },
        readOnlyTools: SANDBOX_READ_ONLY_TOOLS,
        source: 'sandbox',
      },
      {
        id: 'linear',
        name: 'Linear (sandbox)',
        mcpServerUrl: providers.linear.mcpUrl,
        auth: {
          type: 'static_token',
          help: `Make one on the Linear emulator's settings page: ${providers.linear.url}/settings/tokens`,
        },
        source: 'sandbox',
      },
    ],
    close: async () => {
      await Promise.all([
        slack.close(),
        managedAgents.close(),
        ...Object.values(providers).map((p) => p.close()),
      ]);
    },
  };
}
