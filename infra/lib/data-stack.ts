import { CfnOutput, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AuditArchive, DEFAULT_AUDIT_RETENTION_DAYS } from './audit-archive';
import {
  AUDIT_WEBHOOK_SECRET_FIELDS,
  EXPIRY_ATTRIBUTE,
  SECRET_FIELDS,
  TABLE_INDEXES,
  tableNames,
} from './contract';

export interface DeputyDataStackProps extends StackProps {
  /** `DEPUTY_TABLE_PREFIX`: the tables are `<prefix>main` and `<prefix>audit`. */
  readonly tablePrefix: string;
  /** Name of the JSON secret holding SECRET_FIELDS. */
  readonly secretName: string;
  /** Name of the JSON secret holding AUDIT_WEBHOOK_SECRET_FIELDS (the optional SIEM webhook). */
  readonly auditWebhookSecretName: string;
  /** Name of the ECR repository the service's image is pulled from. */
  readonly repositoryName: string;
  /**
   * Name of the ECS task execution role (created by the service stack). Each secret's resource
   * policy denies GetSecretValue to every other principal.
   */
  readonly executionRoleName: string;
  /**
   * `auditRetentionDays`: how long each archived audit record is locked (S3 Object Lock, COMPLIANCE
   * mode) in the audit archive bucket. Default DEFAULT_AUDIT_RETENTION_DAYS.
   */
  readonly auditRetentionDays?: number;
  /**
   * `auditIndexCount`: how many of the audit table's indexes (TABLE_INDEXES.audit, in order) to
   * deploy. CloudFormation adds one index per update, so a table from before gsi3 is brought up in
   * two deploys: the first with 3, the second with all. Default: all of them.
   */
  readonly auditIndexCount?: number;
}

/**
 * Everything stateful, deployed before (and kept apart from) the service: the DynamoDB tables and
 * their key, the app's secrets (the app secret and the SIEM webhook's) and their key, and the image
 * repository. Every resource is retained on stack deletion. The audit table's stream is copied off
 * the box into an Object Lock bucket (see AuditArchive). Keeping them here means the image can be
 * pushed and the secrets filled before the first task starts, and a failed service deploy never
 * rolls back (or orphans) a table.
 */
export class DeputyDataStack extends Stack {
  readonly tableKey: kms.Key;
  readonly mainTable: dynamodb.Table;
  readonly auditTable: dynamodb.Table;
  readonly auditArchive: AuditArchive;
  readonly secretsKey: kms.Key;
  readonly appSecret: secretsmanager.Secret;
  readonly auditWebhookSecret: secretsmanager.Secret;
  readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: DeputyDataStackProps) {
    super(scope, id, props);
    const names = tableNames(props.tablePrefix);

    this.tableKey = new kms.Key(this, 'TableKey', {
      description: `Deputy: encrypts the DynamoDB tables ${names.main} and ${names.audit}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.mainTable = this.table('MainTable', names.main, TABLE_INDEXES.main);
    // Old and new images: an edit or a delete of an audit record (by anyone with table access, or
    // by the TTL) reaches the archive with what it changed or removed, not only the inserts.
    this.auditTable = this.table(
      'AuditTable',
      names.audit,
      TABLE_INDEXES.audit.slice(0, props.auditIndexCount ?? TABLE_INDEXES.audit.length),
      dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    );
    this.auditArchive = new AuditArchive(this, 'AuditArchive', {
      table: this.auditTable,
      tableKey: this.tableKey,
      retentionDays: props.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS,
    });
    new CfnOutput(this, 'AuditArchiveBucketName', {
      description: 'S3 bucket holding the audit trail copy (Object Lock, compliance mode)',
      value: this.auditArchive.bucket.bucketName,
    });

    // Encrypts the audit webhook secret too; its description (unchanged so that existing keys are
    // not updated) names the app secret only.
    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      description: `Deputy: encrypts the secret ${props.secretName}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Created with every field empty (the app treats "" as unset); real values are put with
    // `aws secretsmanager put-secret-value` and CloudFormation leaves them alone while this
    // placeholder is unchanged. ECS refuses to start a task whose secret lacks a referenced field,
    // so every field exists from the start. Changing SECRET_FIELDS rewrites the secret: put the
    // values again after such a deploy. New optional settings get a secret of their own instead.
    this.appSecret = this.secret('AppSecret', {
      secretName: props.secretName,
      description: 'Deputy: Slack, Anthropic and connector OAuth credentials (JSON, one field per variable)',
      fields: SECRET_FIELDS,
      executionRoleName: props.executionRoleName,
    });
    this.auditWebhookSecret = this.secret('AuditWebhookSecret', {
      secretName: props.auditWebhookSecretName,
      description:
        'Deputy: the SIEM webhook audit records are sent to, URL and signing key (JSON; both empty: none)',
      fields: AUDIT_WEBHOOK_SECRET_FIELDS,
      executionRoleName: props.executionRoleName,
    });

    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      imageScanOnPush: true,
      // A tag names one image for good: the service's ImageTag parameter pins what runs.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      lifecycleRules: [{ description: 'keep the newest 50 images', maxImageCount: 50 }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * A JSON secret of `fields`, each created empty, encrypted with the secrets key and retained. Only
   * ECS, on behalf of the task execution role, reads the values (to inject them into the container):
   * people and the app's own task role may describe and update it, never read it.
   */
  private secret(
    id: string,
    options: {
      secretName: string;
      description: string;
      fields: readonly string[];
      executionRoleName: string;
    },
  ): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      secretName: options.secretName,
      description: options.description,
      encryptionKey: this.secretsKey,
      secretObjectValue: Object.fromEntries(options.fields.map((f) => [f, SecretValue.unsafePlainText('')])),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    secret.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheTaskExecutionRoleReads',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['*'],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': this.formatArn({
              service: 'iam',
              region: '',
              resource: 'role',
              resourceName: options.executionRoleName,
            }),
          },
        },
      }),
    );
    return secret;
  }

  private table(
    id: string,
    tableName: string,
    indexes: readonly string[],
    stream?: dynamodb.StreamViewType,
  ): dynamodb.Table {
    const string = dynamodb.AttributeType.STRING;
    const table = new dynamodb.Table(this, id, {
      tableName,
      partitionKey: { name: 'pk', type: string },
      sortKey: { name: 'sk', type: string },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.tableKey,
      timeToLiveAttribute: EXPIRY_ATTRIBUTE,
      deletionProtection: true,
      stream,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index,
        partitionKey: { name: `${index}pk`, type: string },
        sortKey: { name: `${index}sk`, type: string },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}
