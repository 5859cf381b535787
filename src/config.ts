import { z } from 'zod';

/**
 * The environment, validated once at start (docs/architecture.md#fixed-contracts). Every variable is
 * optional where the sandbox has a default; a bad value stops the app with one message naming every bad
 * variable.
 */

/** Variables whose values are secrets: never echoed, and handed to the logger as redaction canaries. */
export const SECRET_VARIABLES = [
  'SLACK_SIGNING_SECRET',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_CLIENT_SECRET',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_WEBHOOK_SIGNING_KEY',
  'DEPUTY_SEALING_KEY',
  'DEPUTY_AUDIT_WEBHOOK_SECRET',
  // Some collectors take a token in the URL itself.
  'DEPUTY_AUDIT_WEBHOOK_URL',
] as const;

function withPrefix(prefix: string, what: string) {
  return z.string().refine((v) => v.startsWith(prefix) && v.length > prefix.length, {
    message: `must be ${what} starting with "${prefix}"`,
  });
}

const httpUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** 32 random bytes, base64 or base64url (`openssl rand -base64 32`). */
const sealingKey = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/_-]{43}=?$/.test(v) && Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 random bytes in base64 (openssl rand -base64 32)',
  })
  .transform((v) => Buffer.from(v, 'base64'));

/** A Standard Webhooks key: `whsec_` and 24 to 64 random bytes in base64, as the spec recommends. */
const webhookSecret = z.string().refine(
  (v) => {
    const key = v.startsWith('whsec_') ? v.slice('whsec_'.length) : '';
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) return false;
    const bytes = Buffer.from(key, 'base64').length;
    return bytes >= 24 && bytes <= 64;
  },
  { message: 'must be "whsec_" and 24 to 64 random bytes in base64 (whsec_$(openssl rand -base64 32))' },
);

/** Audit actions (`session.created`) and prefixes (`session.*`); which exist is checked at start. */
const auditActionList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine(
    (names) => names.every((n) => /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.([a-z][a-z0-9_]*|\*)$/.test(n)),
    {
      message: 'must be a comma-separated list of audit actions (session.created) or prefixes (session.*)',
    },
  );

const slackUserList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((ids) => ids.every((id) => /^[UW][A-Z0-9_]{2,}$/.test(id)), {
    message: 'must be a comma-separated list of Slack user IDs (U… or W…)',
  });

const schema = z.object({
  PORT: z.optional(
    z.coerce
      .number({ message: 'must be a port number' })
      .int({ message: 'must be a port number' })
      .min(0, { message: 'must be between 0 and 65535' })
      .max(65535, { message: 'must be between 0 and 65535' }),
  ),
  PUBLIC_BASE_URL: z.optional(httpUrl),
  SLACK_SIGNING_SECRET: z.optional(z.string().min(8, { message: 'must be at least 8 characters' })),
  SLACK_BOT_TOKEN: z.optional(withPrefix('xoxb-', 'a bot token')),
  SLACK_APP_TOKEN: z.optional(withPrefix('xapp-', 'an app-level token')),
  SLACK_API_URL: z.optional(httpUrl),
  SLACK_CLIENT_ID: z.optional(z.string().regex(/^[0-9]+\.[0-9]+$/, { message: 'must look like 123.456' })),
  SLACK_CLIENT_SECRET: z.optional(z.string().min(8, { message: 'must be at least 8 characters' })),
  SLACK_OIDC_ISSUER: z.optional(httpUrl),
  ANTHROPIC_API_KEY: z.optional(z.string().min(8, { message: 'must be at least 8 characters' })),
  ANTHROPIC_BASE_URL: z.optional(httpUrl),
  ANTHROPIC_ENVIRONMENT_ID: z.optional(withPrefix('env_', 'an environment id')),
  ANTHROPIC_WEBHOOK_SIGNING_KEY: z.optional(withPrefix('whsec_', 'a webhook signing key')),
  DYNAMODB_ENDPOINT: z.optional(httpUrl),
  AWS_REGION: z.optional(
    z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'must be a region such as eu-west-1' }),
  ),
  DEPUTY_TABLE_PREFIX: z.optional(
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{0,200}$/, { message: 'may hold only letters, digits, "_", "." and "-"' }),
  ),
  DEPUTY_DATA_DIR: z.optional(z.string().min(1)),
  DEPUTY_ADMINS: z.optional(slackUserList),
  DEPUTY_CONNECTORS_FILE: z.optional(z.string().min(1)),
  DEPUTY_DEFAULT_AGENT: z.optional(z.string().min(1).max(256)),
  DEPUTY_ALLOW_PRIVATE_NETWORK: z.optional(boolean),
  DEPUTY_SEALING_KEY: z.optional(sealingKey),
  DEPUTY_TOOL_CHECK_MINUTES: z.optional(
    z.coerce
      .number({ message: 'must be a whole number of minutes' })
      .int({ message: 'must be a whole number of minutes' })
      .min(1, { message: 'must be between 1 and 1440' })
      .max(1440, { message: 'must be between 1 and 1440' }),
  ),
  DEPUTY_AUDIT_WEBHOOK_URL: z.optional(httpUrl),
  DEPUTY_AUDIT_WEBHOOK_SECRET: z.optional(webhookSecret),
  DEPUTY_AUDIT_WEBHOOK_ACTIONS: z.optional(auditActionList),
  DEPUTY_RETENTION_DAYS: z.optional(
    z.coerce
      .number({ message: 'must be a whole number of days' })
      .int({ message: 'must be a whole number of days' })
      .min(1, { message: 'must be between 1 and 3650' })
      .max(3650, { message: 'must be between 1 and 3650' }),
  ),
  LOG_LEVEL: z.optional(
    z.enum(['debug', 'info', 'warn', 'error'], { message: 'must be debug, info, warn or error' }),
  ),
  /** `production` (the container image sets it) refuses to fall back to the sandbox. */
  NODE_ENV: z.optional(z.string().max(32)),
});

type Env = z.infer<typeof schema>;

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

export interface SlackSettings {
  signingSecret: string;
  botToken: string;
  appToken?: string;
  /** Web API base, ending in `/` (Bolt POSTs to `${apiUrl}${method}`). */
  apiUrl?: string;
  clientId?: string;
  clientSecret?: string;
  oidcIssuer: string;
}

export interface AnthropicSettings {
  apiKey: string;
  baseUrl?: string;
  environmentId?: string;
  webhookSigningKey?: string;
}

/** Where audit records are sent on (a SIEM's webhook), signed with `secret`, and which. */
export interface AuditWebhookSettings {
  url: string;
  /** `whsec_…` (Standard Webhooks). */
  secret: string;
  /** Exact actions or `prefix.*`; empty: every action. */
  actions: string[];
}

export type StorageSettings =
  | { kind: 'dynamodb'; endpoint?: string; region: string; tablePrefix: string }
  | { kind: 'embedded'; dataDir: string; tablePrefix: string };

export interface Config {
  /**
   * `live`: the configured Slack workspace and Anthropic API. `sandbox`: no Slack or Anthropic
   * credentials were given; the product refuses to start, and `npm start` runs the sandbox
   * (sandbox/, not part of the product) around it instead.
   */
  mode: 'sandbox' | 'live';
  port: number;
  publicBaseUrl: string;
  /** Present in live mode; in sandbox mode the emulators supply these. */
  slack?: SlackSettings;
  anthropic?: AnthropicSettings;
  storage: StorageSettings;
  admins: string[];
  connectorsFile?: string;
  defaultAgent?: string;
  allowPrivateNetwork: boolean;
  /**
   * The AES-256-GCM key sealing the few secrets Deputy keeps (what a disconnect needs to revoke a
   * token at its provider). Absent: Deputy keeps none, and says a disconnect cannot revoke.
   */
  sealingKey?: Buffer;
  /** How often servers with a catalog account have their tools listed again. */
  toolCheckMinutes?: number;
  /** DEPUTY_AUDIT_WEBHOOK_*: audit records are also sent to this webhook; absent, they are not. */
  auditWebhook?: AuditWebhookSettings;
  /** Days sessions, approvals and disconnected connections are kept after last use. */
  retentionDays?: number;
  logLevel: LogLevelName;
  /** Secret values present in the environment, for the logger's redaction. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Deputy cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** The credentials of a live workspace: all three, or none for the sandbox. */
const LIVE_VARIABLES = ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'ANTHROPIC_API_KEY'] as const;

/**
 * Whether `npm start` runs the sandbox: none of the live credentials is set, and this is not a
 * production deployment (which must never fall back to emulators).
 */
export function wantsSandbox(environment: NodeJS.ProcessEnv): boolean {
  const set = (name: string) => Boolean(environment[name]?.trim());
  return !LIVE_VARIABLES.some(set) && environment.NODE_ENV?.trim() !== 'production';
}

/** Reads and validates the environment. Throws ConfigError naming every bad variable, never a value. */
export function loadConfig(environment: NodeJS.ProcessEnv): Config {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = environment[key]?.trim();
    raw[key] = value === '' ? undefined : value;
  }
  const parsed = schema.safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // Messages come from the schema above and name the rule, never the received value.
      problems.push(`${String(issue.path[0])}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const env: Env = parsed.data;

  const given = LIVE_VARIABLES.filter((k) => env[k] !== undefined);
  const mode = given.length === 0 ? 'sandbox' : 'live';
  if (mode === 'sandbox' && env.NODE_ENV === 'production') {
    problems.push(
      'SLACK_SIGNING_SECRET: required when NODE_ENV is production; with no Slack or Anthropic credentials ' +
        'Deputy would run its sandbox (set SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY)',
    );
  }
  if (mode === 'live') {
    for (const missing of LIVE_VARIABLES.filter((k) => env[k] === undefined)) {
      problems.push(
        `${missing}: required when ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} set ` +
          '(set all of SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY for a live workspace, or none for the sandbox)',
      );
    }
  }
  if (env.DYNAMODB_ENDPOINT && !env.AWS_REGION) {
    problems.push('AWS_REGION: required when DYNAMODB_ENDPOINT is set');
  }
  if ((env.SLACK_CLIENT_ID === undefined) !== (env.SLACK_CLIENT_SECRET === undefined)) {
    problems.push('SLACK_CLIENT_ID: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together');
  }
  // The sandbox's emulators listen on loopback, so it allows private addresses unless told not to.
  const allowPrivateNetwork = env.DEPUTY_ALLOW_PRIVATE_NETWORK ?? mode === 'sandbox';
  problems.push(...auditWebhookProblems(env, allowPrivateNetwork));
  if (problems.length > 0) throw new ConfigError(problems);

  const port = env.PORT ?? 3000;
  const tablePrefix = env.DEPUTY_TABLE_PREFIX ?? 'deputy-';
  const storage: StorageSettings = env.AWS_REGION
    ? { kind: 'dynamodb', endpoint: env.DYNAMODB_ENDPOINT, region: env.AWS_REGION, tablePrefix }
    : { kind: 'embedded', dataDir: env.DEPUTY_DATA_DIR ?? '.deputy-data', tablePrefix };

  const secrets = SECRET_VARIABLES.map((k) => raw[k]).filter((v): v is string => v !== undefined);
  return {
    mode,
    port,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, ''),
    slack:
      mode === 'live' && env.SLACK_SIGNING_SECRET && env.SLACK_BOT_TOKEN
        ? {
            signingSecret: env.SLACK_SIGNING_SECRET,
            botToken: env.SLACK_BOT_TOKEN,
            appToken: env.SLACK_APP_TOKEN,
            apiUrl: env.SLACK_API_URL ? `${env.SLACK_API_URL.replace(/\/+$/, '')}/` : undefined,
            clientId: env.SLACK_CLIENT_ID,
            clientSecret: env.SLACK_CLIENT_SECRET,
            oidcIssuer: env.SLACK_OIDC_ISSUER ?? 'https://slack.com',
          }
        : undefined,
    anthropic:
      mode === 'live' && env.ANTHROPIC_API_KEY
        ? {
            apiKey: env.ANTHROPIC_API_KEY,
            baseUrl: env.ANTHROPIC_BASE_URL,
            environmentId: env.ANTHROPIC_ENVIRONMENT_ID,
            webhookSigningKey: env.ANTHROPIC_WEBHOOK_SIGNING_KEY,
          }
        : undefined,
    storage,
    admins: env.DEPUTY_ADMINS ?? [],
    connectorsFile: env.DEPUTY_CONNECTORS_FILE,
    defaultAgent: env.DEPUTY_DEFAULT_AGENT,
    allowPrivateNetwork,
    ...(env.DEPUTY_SEALING_KEY ? { sealingKey: env.DEPUTY_SEALING_KEY } : {}),
    ...(env.DEPUTY_AUDIT_WEBHOOK_URL && env.DEPUTY_AUDIT_WEBHOOK_SECRET
      ? {
          auditWebhook: {
            url: env.DEPUTY_AUDIT_WEBHOOK_URL,
            secret: env.DEPUTY_AUDIT_WEBHOOK_SECRET,
            actions: env.DEPUTY_AUDIT_WEBHOOK_ACTIONS ?? [],
          },
        }
      : {}),
    ...(env.DEPUTY_RETENTION_DAYS ? { retentionDays: env.DEPUTY_RETENTION_DAYS } : {}),
    ...(env.DEPUTY_TOOL_CHECK_MINUTES ? { toolCheckMinutes: env.DEPUTY_TOOL_CHECK_MINUTES } : {}),
    logLevel: env.LOG_LEVEL ?? 'info',
    secrets,
  };
}

/**
 * The audit webhook's variables together: the secret with the URL and only with it, and the URL
 * https (plain http, like other outbound URLs, only where private networks are allowed).
 */
function auditWebhookProblems(env: Env, allowPrivateNetwork: boolean): string[] {
  const url = env.DEPUTY_AUDIT_WEBHOOK_URL;
  if (url === undefined) {
    return [
      ...(env.DEPUTY_AUDIT_WEBHOOK_SECRET !== undefined
        ? [
            'DEPUTY_AUDIT_WEBHOOK_SECRET: set without DEPUTY_AUDIT_WEBHOOK_URL (set both to send audit records to a webhook, or neither)',
          ]
        : []),
      ...(env.DEPUTY_AUDIT_WEBHOOK_ACTIONS !== undefined
        ? ['DEPUTY_AUDIT_WEBHOOK_ACTIONS: set without DEPUTY_AUDIT_WEBHOOK_URL']
        : []),
    ];
  }
  const problems: string[] = [];
  const parsed = new URL(url);
  if (parsed.username || parsed.password) {
    problems.push(
      'DEPUTY_AUDIT_WEBHOOK_URL: must not carry credentials (deliveries are signed with DEPUTY_AUDIT_WEBHOOK_SECRET)',
    );
  }
  if (parsed.protocol !== 'https:' && !allowPrivateNetwork) {
    problems.push(
      'DEPUTY_AUDIT_WEBHOOK_URL: must be an https URL (plain http only with DEPUTY_ALLOW_PRIVATE_NETWORK, for tests)',
    );
  }
  if (env.DEPUTY_AUDIT_WEBHOOK_SECRET === undefined) {
    problems.push(
      'DEPUTY_AUDIT_WEBHOOK_SECRET: required when DEPUTY_AUDIT_WEBHOOK_URL is set (the whsec_… key deliveries are signed with)',
    );
  }
  return problems;
}
