import { App, type AppProps } from 'aws-cdk-lib';
import { DEFAULT_AUDIT_RETENTION_DAYS, validRetentionDays } from './audit-archive';
import { DEFAULT_TABLE_PREFIX, TABLE_INDEXES } from './contract';
import { DeputyDataStack } from './data-stack';
import { DeputyServiceStack, type DeputyServiceStackProps } from './service-stack';

/**
 * Feature flags, set here rather than in cdk.json so that `npm run synth` (which runs this file
 * without the CDK CLI) and `cdk deploy` produce the same templates.
 */
export const FEATURE_FLAGS: Record<string, unknown> = {
  // A finding of the built-in CloudFormation template validation fails synth instead of warning.
  '@aws-cdk/core:validateAgainstDefaultRules': true,
  // The service imports the data stack's outputs as CloudFormation exports, so the data stack (the
  // tables, the secret) cannot be deleted, nor those outputs changed, while the service uses them.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
  '@aws-cdk/core:checkSecretUsage': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/aws-ecs:arnFormatIncludesClusterName': true,
  '@aws-cdk/aws-ecs:disableExplicitDeploymentControllerForCircuitBreaker': true,
  '@aws-cdk/aws-ecs:removeDefaultDeploymentAlarm': true,
  '@aws-cdk/aws-ecs:reduceEc2FargateCloudWatchPermissions': true,
  '@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope': true,
};

export interface DeputyOptions extends AppProps {
  /** `DEPUTY_TABLE_PREFIX`. Default: context `tablePrefix`, else `deputy-`. */
  readonly tablePrefix?: string;
  /**
   * Days each archived audit record stays locked (COMPLIANCE mode). Default: context
   * `auditRetentionDays` (`-c auditRetentionDays=730`), else DEFAULT_AUDIT_RETENTION_DAYS.
   */
  readonly auditRetentionDays?: number;
  /**
   * How many of the audit table's indexes to deploy, for an upgrade that adds more than one (see
   * DeputyDataStackProps). Default: context `auditIndexCount`, else all.
   */
  readonly auditIndexCount?: number;
  /** Service sizing, scaling and alarm settings. */
  readonly service?: Omit<DeputyServiceStackProps, 'data' | 'tablePrefix' | 'executionRoleName'>;
}

/**
 * The CDK app: `DeputyData` (tables, secret, keys, image repository, the audit archive and its
 * stream copier; everything stateful retained) and `DeputyService` (network, load balancer, Fargate
 * service, alarms), which depends on it.
 * Both stacks are environment-agnostic: account and region come from the deploying credentials.
 */
export function buildDeputy(options: DeputyOptions = {}): {
  app: App;
  data: DeputyDataStack;
  service: DeputyServiceStack;
} {
  const app = new App({ ...options, context: { ...FEATURE_FLAGS, ...options.context } });
  const contextPrefix: unknown = app.node.tryGetContext('tablePrefix');
  const tablePrefix =
    options.tablePrefix ?? (typeof contextPrefix === 'string' ? contextPrefix : DEFAULT_TABLE_PREFIX);
  if (!/^[A-Za-z0-9_.-]{0,200}$/.test(tablePrefix)) {
    throw new Error(`tablePrefix "${tablePrefix}" may hold only letters, digits, "_", "." and "-"`);
  }
  const auditRetentionDays = validRetentionDays(
    options.auditRetentionDays ?? retentionFromContext(app.node.tryGetContext('auditRetentionDays')),
  );
  const auditIndexCount =
    options.auditIndexCount ?? indexCountFromContext(app.node.tryGetContext('auditIndexCount'));
  const base = tablePrefix.replace(/[-_.]+$/, '') || 'deputy';
  const executionRoleName = `${base}-ecs-execution`.slice(0, 64);
  const description = 'Deputy: Claude Managed Agents in Slack';
  const data = new DeputyDataStack(app, 'DeputyData', {
    description: `${description} (stateful: tables, secret, keys, image repository, audit archive)`,
    tablePrefix,
    secretName: `${base}/app`,
    auditWebhookSecretName: `${base}/audit-webhook`,
    repositoryName: base.toLowerCase(),
    executionRoleName,
    auditRetentionDays,
    ...(auditIndexCount !== undefined ? { auditIndexCount } : {}),
  });
  const service = new DeputyServiceStack(app, 'DeputyService', {
    description: `${description} (service: network, HTTPS load balancer, Fargate, alarms)`,
    ...options.service,
    data,
    tablePrefix,
    executionRoleName,
  });
  return { app, data, service };
}

/** `auditRetentionDays` from context: a number (cdk.json) or a string of digits (`-c` on the command line). */
function retentionFromContext(value: unknown): number {
  if (value === undefined) return DEFAULT_AUDIT_RETENTION_DAYS;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^[0-9]+$/.test(value.trim())) return Number(value.trim());
  throw new Error(`auditRetentionDays must be a whole number of days (got ${JSON.stringify(value)})`);
}

/** `auditIndexCount` from context: absent (all), or a count from 1 to all of the audit table's indexes. */
function indexCountFromContext(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const count = typeof value === 'string' && /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    count < 1 ||
    count > TABLE_INDEXES.audit.length
  )
    throw new Error(
      `auditIndexCount must be a whole number from 1 to ${TABLE_INDEXES.audit.length} (got ${JSON.stringify(value)})`,
    );
  return count;
}
