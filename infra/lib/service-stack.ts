import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  AUDIT_WEBHOOK_SECRET_FIELDS,
  CONTAINER_PORT,
  HEALTH_CHECK_PATH,
  RELAY_LAG_METRIC,
  SECRET_FIELDS,
  TABLE_INDEXES,
  tableNames,
} from './contract';
import type { DeputyDataStack } from './data-stack';

export interface DeputyServiceStackProps extends StackProps {
  /** The stateful resources: tables, their key, the secrets and their key, the image repository. */
  readonly data: DeputyDataStack;
  /** `DEPUTY_TABLE_PREFIX`; must be the data stack's. */
  readonly tablePrefix: string;
  /** Name given to the task execution role; the data stack's secret policies name it. */
  readonly executionRoleName: string;
  /** Tasks while idle and the autoscaling floor (at least 2). Default 2. */
  readonly minTasks?: number;
  /** Autoscaling ceiling. Default 10. */
  readonly maxTasks?: number;
  /** Task size. Defaults 512 CPU units, 1024 MiB. */
  readonly cpu?: number;
  readonly memoryMiB?: number;
  /** Target average CPU for scaling, percent. Default 60. */
  readonly cpuTargetPercent?: number;
  /** Target ALB requests per task per minute for scaling. Default 600. */
  readonly requestsPerTaskPerMinute?: number;
  /** How long the app's log lines are kept. Default one month. */
  readonly logRetention?: logs.RetentionDays;
  /** NAT gateways (one per AZ for availability). Default 2. */
  readonly natGateways?: number;
  /** Alarm thresholds. */
  readonly alarmThresholds?: {
    /** 5xx responses as a percent of requests, per 5 minutes. Default 5. */
    readonly errorRatePercent?: number;
    /** p99 target response time, seconds. Default 2 (Slack wants an ack within 3). */
    readonly latencyP99Seconds?: number;
    /** Throttled read and write events per table per 5 minutes. Default 1. */
    readonly throttledEvents?: number;
    /** p99 relay lag, milliseconds. Default 30000. */
    readonly relayLagP99Ms?: number;
  };
}

/** SIGTERM to SIGKILL: time for the app to stop taking requests, drain and release relay leases. */
export const STOP_TIMEOUT = Duration.seconds(90);
/** How long the load balancer keeps sending in-flight requests to a task it is deregistering. */
export const DEREGISTRATION_DELAY = Duration.seconds(30);

/**
 * The stateless part: network, HTTPS load balancer, the Fargate service and its autoscaling, logs
 * and alarms. Deploy-time values are CloudFormation parameters, so `synth` needs no account,
 * credentials or lookups.
 */
export class DeputyServiceStack extends Stack {
  readonly service: ecs.FargateService;
  readonly taskRole: iam.Role;
  readonly executionRole: iam.Role;
  readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: DeputyServiceStackProps) {
    super(scope, id, props);
    const { data } = props;
    const minTasks = props.minTasks ?? 2;
    const maxTasks = props.maxTasks ?? 10;
    // Two tasks at least: one can stop (deploy, scale-in, AZ loss) while the other serves and
    // takes over the relays whose leases the stopping one released.
    if (
      !(Number.isInteger(minTasks) && minTasks >= 2 && Number.isInteger(maxTasks) && maxTasks >= minTasks)
    ) {
      throw new Error(
        `minTasks must be an integer >= 2 and maxTasks >= minTasks (got ${minTasks}, ${maxTasks})`,
      );
    }
    const thresholds = props.alarmThresholds ?? {};
    const names = tableNames(props.tablePrefix);

    // The data stack's resources, imported by name or ARN: grants on imported resources only ever
    // touch this stack's roles, never the data stack's resource policies (which would make the two
    // stacks depend on each other).
    const repository = ecr.Repository.fromRepositoryName(this, 'Repository', data.repository.repositoryName);
    const appSecret = secretsmanager.Secret.fromSecretAttributes(this, 'AppSecret', {
      secretCompleteArn: data.appSecret.secretArn,
    });
    const auditWebhookSecret = secretsmanager.Secret.fromSecretAttributes(this, 'AuditWebhookSecret', {
      secretCompleteArn: data.auditWebhookSecret.secretArn,
    });

    // --- deploy-time parameters -------------------------------------------------------------------
    const imageTag = new CfnParameter(this, 'ImageTag', {
      type: 'String',
      description: 'Tag of the image to run, in the ECR repository the DeputyData stack created',
      allowedPattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$',
    });
    const domainName = new CfnParameter(this, 'DomainName', {
      type: 'String',
      description:
        'Public host name of Deputy (PUBLIC_BASE_URL is https://<DomainName>), e.g. deputy.example.com',
      allowedPattern:
        '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$',
    });
    const certificateArn = new CfnParameter(this, 'CertificateArn', {
      type: 'String',
      description: 'ARN of an ACM certificate for DomainName, in this stack region',
      allowedPattern: '^arn:aws[A-Za-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$',
    });
    const environmentId = new CfnParameter(this, 'AnthropicEnvironmentId', {
      type: 'String',
      default: '',
      description:
        'ANTHROPIC_ENVIRONMENT_ID: the env_... environment sessions run in (required for /agent run)',
      allowedPattern: '^(env_[A-Za-z0-9_-]+)?$',
    });
    const admins = new CfnParameter(this, 'DeputyAdmins', {
      type: 'String',
      default: '',
      description: 'DEPUTY_ADMINS: comma-separated Slack user IDs with admin rights in Deputy',
      allowedPattern: '^[A-Z0-9_, ]*$',
    });
    const defaultAgent = new CfnParameter(this, 'DefaultAgent', {
      type: 'String',
      default: '',
      description: 'DEPUTY_DEFAULT_AGENT: the agent /agent run uses without --agent',
    });
    const logLevel = new CfnParameter(this, 'LogLevel', {
      type: 'String',
      default: 'info',
      allowedValues: ['debug', 'info', 'warn', 'error'],
      description: 'LOG_LEVEL',
    });
    // Which audit records go to the SIEM webhook (whose URL and key are in the audit webhook secret).
    // Only the characters are checked here; the app stops at start on a name that is no audit action,
    // and on a filter without a URL.
    const auditWebhookActions = new CfnParameter(this, 'AuditWebhookActions', {
      type: 'String',
      default: '',
      description:
        'DEPUTY_AUDIT_WEBHOOK_ACTIONS: comma-separated audit actions and prefixes sent to the SIEM webhook, e.g. session.created,approval.* (empty: all)',
      allowedPattern: '^[A-Za-z0-9_.*, ]*$',
    });
    const alarmEmail = new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      default: '',
      description: 'Optional e-mail address subscribed to the alarm topic',
    });

    // --- network ----------------------------------------------------------------------------------
    // Two AZs from Fn::GetAZs (no lookups). Tasks in private subnets reach Slack, Anthropic and MCP
    // servers through NAT; DynamoDB through a gateway endpoint.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: props.natGateways ?? 2,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });

    // --- roles ------------------------------------------------------------------------------------
    // The execution role is what ECS uses to pull the image, write logs and read the secret into the
    // container's environment. The task role is what the app itself runs as: tables only.
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      roleName: props.executionRoleName,
      description:
        'Deputy: ECS pulls the image, writes logs and injects the secret (the app never gets this role)',
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    // Referencing the secrets in the container (below) grants this role GetSecretValue on them; their
    // key is granted here, usable only through Secrets Manager.
    this.executionRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SecretsKeyThroughSecretsManager',
        actions: ['kms:Decrypt'],
        resources: [data.secretsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    );
    this.taskRole = new iam.Role(this, 'TaskRole', {
      description: 'Deputy app: its DynamoDB tables, and no more',
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    this.grantTables(this.taskRole, names, data.tableKey.keyArn);

    // --- task -------------------------------------------------------------------------------------
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryMiB ?? 1024,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
      },
      executionRole: this.executionRole,
      taskRole: this.taskRole,
    });
    this.container = taskDefinition.addContainer('deputy', {
      image: ecs.ContainerImage.fromEcrRepository(repository, imageTag.valueAsString),
      essential: true,
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP }],
      environment: {
        PORT: String(CONTAINER_PORT),
        PUBLIC_BASE_URL: Fn.join('', ['https://', domainName.valueAsString]),
        AWS_REGION: Aws.REGION,
        DEPUTY_TABLE_PREFIX: props.tablePrefix,
        DEPUTY_ALLOW_PRIVATE_NETWORK: 'false',
        ANTHROPIC_ENVIRONMENT_ID: environmentId.valueAsString,
        DEPUTY_ADMINS: admins.valueAsString,
        DEPUTY_DEFAULT_AGENT: defaultAgent.valueAsString,
        LOG_LEVEL: logLevel.valueAsString,
        DEPUTY_AUDIT_WEBHOOK_ACTIONS: auditWebhookActions.valueAsString,
      },
      // Injected by ECS with the execution role; referencing them here grants exactly that role
      // GetSecretValue on each secret (its key's kms:Decrypt, via Secrets Manager, is granted above).
      secrets: Object.fromEntries([
        ...SECRET_FIELDS.map((field) => [field, ecs.Secret.fromSecretsManager(appSecret, field)] as const),
        ...AUDIT_WEBHOOK_SECRET_FIELDS.map(
          (field) => [field, ecs.Secret.fromSecretsManager(auditWebhookSecret, field)] as const,
        ),
      ]),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'deputy' }),
      // ECS sends SIGTERM, waits this long, then SIGKILL (Fargate allows up to 120 s).
      stopTimeout: STOP_TIMEOUT,
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${CONTAINER_PORT}${HEALTH_CHECK_PATH}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
    });

    // --- service and load balancer ----------------------------------------------------------------
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      healthCheckGracePeriod: Duration.seconds(60),
    });
    // Tasks start only once the execution role may read every secret they reference (on the update
    // that adds a secret, the role's policy and the new task definition change together).
    this.service.node.addDependency(this.executionRole);

    const alb = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
    });
    const https = alb.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      // TLS 1.3 and 1.2 with hybrid post-quantum key exchange.
      sslPolicy: elbv2.SslPolicy.TLS13_12_PQ,
      certificates: [elbv2.ListenerCertificate.fromArn(certificateArn.valueAsString)],
      open: true,
    });
    alb.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: true,
      defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
    });
    const targetGroup = https.addTargets('App', {
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service.loadBalancerTarget({ containerName: 'deputy', containerPort: CONTAINER_PORT })],
      healthCheck: {
        path: HEALTH_CHECK_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      // Shorter than STOP_TIMEOUT: ECS drains the target first, then sends SIGTERM.
      deregistrationDelay: DEREGISTRATION_DELAY,
    });

    // --- autoscaling ------------------------------------------------------------------------------
    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.cpuTargetPercent ?? 60,
      scaleInCooldown: Duration.seconds(300),
      scaleOutCooldown: Duration.seconds(60),
    });
    scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: props.requestsPerTaskPerMinute ?? 600,
      targetGroup,
      scaleInCooldown: Duration.seconds(300),
      scaleOutCooldown: Duration.seconds(60),
    });

    // --- alarms -----------------------------------------------------------------------------------
    const topic = new sns.Topic(this, 'Alarms', { displayName: 'Deputy alarms', enforceSSL: true });
    const hasEmail = new CfnCondition(this, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
    });
    const subscription = new sns.CfnSubscription(this, 'AlarmEmailSubscription', {
      topicArn: topic.topicArn,
      protocol: 'email',
      endpoint: alarmEmail.valueAsString,
    });
    subscription.cfnOptions.condition = hasEmail;
    const action = new cloudwatchActions.SnsAction(topic);
    const alarm = (id: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, id, alarmProps);
      created.addAlarmAction(action);
      created.addOkAction(action);
      return created;
    };
    const fiveMinutes = Duration.minutes(5);

    // 5xx from the load balancer (no healthy target, timeouts) or from the app, as a share of all
    // requests; quiet below 20 requests in the period so one error at night does not page.
    const elb5xx = alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: fiveMinutes });
    const target5xx = targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
      period: fiveMinutes,
    });
    const requests = alb.metrics.requestCount({ period: fiveMinutes });
    alarm('Http5xxRate', {
      alarmDescription:
        'Deputy: more than the threshold share of requests answered 5xx (load balancer or app)',
      metric: new cloudwatch.MathExpression({
        label: '5xx % of requests',
        expression:
          'IF((FILL(requests, 0) + FILL(elb5xx, 0)) >= 20, ' +
          '100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0)), 0)',
        usingMetrics: { elb5xx, target5xx, requests },
        period: fiveMinutes,
      }),
      threshold: thresholds.errorRatePercent ?? 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    alarm('LatencyP99', {
      alarmDescription: 'Deputy: p99 target response time above the threshold (Slack retries after 3 s)',
      metric: targetGroup.metrics.targetResponseTime({ statistic: 'p99', period: fiveMinutes }),
      threshold: thresholds.latencyP99Seconds ?? 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Throttled reads and writes on the table and on each of its indexes (each reported apart).
    for (const [id, tableName, indexes] of [
      ['MainTableThrottles', names.main, TABLE_INDEXES.main],
      ['AuditTableThrottles', names.audit, TABLE_INDEXES.audit],
    ] as const) {
      const usingMetrics: Record<string, cloudwatch.IMetric> = {};
      for (const [i, index] of [undefined, ...indexes].entries()) {
        for (const [kind, metricName] of [
          ['reads', 'ReadThrottleEvents'],
          ['writes', 'WriteThrottleEvents'],
        ] as const) {
          usingMetrics[`${kind}${i}`] = new cloudwatch.Metric({
            namespace: 'AWS/DynamoDB',
            metricName,
            dimensionsMap: { TableName: tableName, ...(index ? { GlobalSecondaryIndexName: index } : {}) },
            statistic: cloudwatch.Stats.SUM,
            period: fiveMinutes,
          });
        }
      }
      alarm(id, {
        alarmDescription: `Deputy: DynamoDB throttled reads or writes on ${tableName} or its indexes`,
        metric: new cloudwatch.MathExpression({
          label: `${tableName} throttled events`,
          expression: Object.keys(usingMetrics)
            .map((m) => `FILL(${m}, 0)`)
            .join(' + '),
          usingMetrics,
          period: fiveMinutes,
        }),
        threshold: thresholds.throttledEvents ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    // The app writes RelayLagMs in CloudWatch Embedded Metric Format to its log group; CloudWatch
    // Logs turns those lines into this metric. No metric (no live sessions) is not an alarm.
    alarm('RelayLagP99', {
      alarmDescription: 'Deputy: session events reach Slack late (p99 relay lag above the threshold)',
      metric: new cloudwatch.Metric({
        namespace: RELAY_LAG_METRIC.namespace,
        metricName: RELAY_LAG_METRIC.metricName,
        dimensionsMap: { ...RELAY_LAG_METRIC.dimensions },
        statistic: 'p99',
        period: fiveMinutes,
      }),
      threshold: thresholds.relayLagP99Ms ?? 30_000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // --- outputs ----------------------------------------------------------------------------------
    new CfnOutput(this, 'LoadBalancerDnsName', {
      description: 'Point DomainName at this (CNAME, or a Route 53 alias)',
      value: alb.loadBalancerDnsName,
    });
    new CfnOutput(this, 'PublicBaseUrl', { value: Fn.join('', ['https://', domainName.valueAsString]) });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });
  }

  /**
   * The app's table access: read (batch reads too) and write on `main`; append and read only on `audit` (no update,
   * no delete, no batch writes, no PartiQL), and the table key only through DynamoDB.
   */
  private grantTables(role: iam.Role, names: { main: string; audit: string }, tableKeyArn: string): void {
    const tableArn = (name: string) =>
      this.formatArn({ service: 'dynamodb', resource: 'table', resourceName: name });
    const indexesArn = (name: string) => `${tableArn(name)}/index/*`;
    const statements = [
      new iam.PolicyStatement({
        sid: 'MainTableReadWrite',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:DescribeTable',
        ],
        resources: [tableArn(names.main)],
      }),
      new iam.PolicyStatement({
        sid: 'MainTableIndexesQuery',
        actions: ['dynamodb:Query'],
        resources: [indexesArn(names.main)],
      }),
      new iam.PolicyStatement({
        sid: 'AuditTableAppendAndRead',
        actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
        resources: [tableArn(names.audit)],
      }),
      new iam.PolicyStatement({
        sid: 'AuditTableIndexesQuery',
        actions: ['dynamodb:Query'],
        resources: [indexesArn(names.audit)],
      }),
      new iam.PolicyStatement({
        sid: 'TableKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [tableKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    ];
    for (const statement of statements) role.addToPrincipalPolicy(statement);
  }
}
