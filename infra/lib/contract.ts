/**
 * What the stacks must agree with the app on (docs/architecture.md#storage and #fixed-contracts,
 * src/store/tables.ts, src/config.ts). Kept in one place so the tests can check the synthesized templates
 * against it.
 */

/** `DEPUTY_TABLE_PREFIX`'s default in src/config.ts. */
export const DEFAULT_TABLE_PREFIX = 'deputy-';

/** The two tables of src/store/tables.ts: `<prefix>main` and `<prefix>audit`. */
export function tableNames(prefix: string): { main: string; audit: string } {
  return { main: `${prefix}main`, audit: `${prefix}audit` };
}

/** Global secondary indexes per table (keys `<index>pk` / `<index>sk`, strings, projection ALL). */
export const TABLE_INDEXES = { main: ['gsi1'], audit: ['gsi1', 'gsi2', 'gsi3', 'gsi4'] } as const;

/** The expiry attribute (epoch seconds) the DynamoDB TTL watches; the app also checks it on read. */
export const EXPIRY_ATTRIBUTE = 'expiresAt';

/** The port the app listens on (`PORT`) and the route the load balancer checks. */
export const CONTAINER_PORT = 3000;
export const HEALTH_CHECK_PATH = '/healthz';

/**
 * Values that reach the container only as ECS `secrets` (fields of one JSON secret), never as plain
 * environment. The app treats an empty string as unset, so an unused field may stay "".
 */
export const SECRET_FIELDS = [
  'SLACK_SIGNING_SECRET',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_CLIENT_ID',
  'SLACK_CLIENT_SECRET',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_WEBHOOK_SIGNING_KEY',
  'GITHUB_CLIENT_ID',
  'GITHUB_CLIENT_SECRET',
  'DEPUTY_SEALING_KEY',
] as const;

/**
 * The optional SIEM webhook (src/config.ts: set both, or neither), reaching the container like
 * SECRET_FIELDS but from a second JSON secret, `<base>/audit-webhook`: adding them to SECRET_FIELDS
 * would rewrite the app secret's placeholder and wipe the values operators put there. Both are
 * secrets (a collector URL often carries a token); empty, the app sends nothing. The action filter,
 * DEPUTY_AUDIT_WEBHOOK_ACTIONS, is no secret: it is the service stack's AuditWebhookActions parameter.
 */
export const AUDIT_WEBHOOK_SECRET_FIELDS = [
  'DEPUTY_AUDIT_WEBHOOK_URL',
  'DEPUTY_AUDIT_WEBHOOK_SECRET',
] as const;

/** The relay-lag metric the app writes as CloudWatch Embedded Metric Format log lines. */
export const RELAY_LAG_METRIC = {
  namespace: 'Deputy',
  metricName: 'RelayLagMs',
  dimensions: { Service: 'deputy' },
} as const;
