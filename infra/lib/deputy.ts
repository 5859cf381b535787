import { App, type AppProps } from 'aws-cdk-lib';
import { DEFAULT_TABLE_PREFIX } from './contract';
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
  /** Service sizing, scaling and alarm settings. */
  readonly service?: Omit<DeputyServiceStackProps, 'data' | 'tablePrefix' | 'executionRoleName'>;
}

/**
 * The CDK app: `DeputyData` (tables, secret, keys, image repository; all retained) and
 * `DeputyService` (network, load balancer, Fargate service, alarms), which depends on it.
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
  const base = tablePrefix.replace(/[-_.]+$/, '') || 'deputy';
  const executionRoleName = `${base}-ecs-execution`.slice(0, 64);
  const description = 'Deputy: Claude Managed Agents in Slack';
  const data = new DeputyDataStack(app, 'DeputyData', {
    description: `${description} (stateful: tables, secret, keys, image repository)`,
    tablePrefix,
    secretName: `${base}/app`,
    repositoryName: base.toLowerCase(),
    executionRoleName,
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
