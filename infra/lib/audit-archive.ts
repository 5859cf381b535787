import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Default of `auditRetentionDays`: a year and a bit, so a yearly review always finds last year whole. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;
/** S3 Object Lock's longest default retention (100 years). */
export const MAX_AUDIT_RETENTION_DAYS = 36_500;
/** Where the archived batches go in the bucket: `audit/yyyy/MM/dd/<time>-<sequence>-<sha256>.jsonl`. */
export const ARCHIVE_PREFIX = 'audit/';

/**
 * What the bucket policy denies to every principal, the account root and CloudFormation included:
 * removing an object version or the bucket, expiring objects by lifecycle, changing the lock
 * configuration, bypassing governance retention, and setting a per-object retention (so every object
 * gets exactly the bucket's default: COMPLIANCE for the configured days). PutBucketPolicy stays
 * allowed, or nobody could ever change this policy again.
 */
export const ARCHIVE_DENIED_ACTIONS = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:DeleteBucket',
  's3:PutLifecycleConfiguration',
  's3:PutBucketObjectLockConfiguration',
  's3:BypassGovernanceRetention',
  's3:PutObjectRetention',
] as const;

/** Validates `auditRetentionDays`: a whole number of days, 1 to MAX_AUDIT_RETENTION_DAYS. */
export function validRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_AUDIT_RETENTION_DAYS) {
    throw new Error(
      `auditRetentionDays must be a whole number of days from 1 to ${MAX_AUDIT_RETENTION_DAYS} (got ${days})`,
    );
  }
  return days;
}

/**
 * The archiver: each batch of stream records becomes one JSON Lines object (one stream record per
 * line, INSERT, MODIFY and REMOVE alike, with the old and new images). S3 requires Content-MD5 or an
 * x-amz-checksum-* header on every PutObject into a bucket with a default retention, so the SHA-256
 * is sent (and stored with the object, for later verification). The key ends with that SHA-256 and
 * the write is conditional (If-None-Match: *): a retried batch whose object already exists is the
 * same content under the same key, so 412 means "already archived". Any other error fails the
 * invocation and Lambda retries the batch. Uses only Node and the AWS SDK the Lambda runtime ships.
 */
export const ARCHIVER_CODE = `'use strict';
const { createHash } = require('node:crypto');
const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');

const s3 = new S3Client({});
const bucket = process.env.ARCHIVE_BUCKET;
const prefix = process.env.ARCHIVE_PREFIX;

exports.handler = async (event) => {
  const records = (event && event.Records) || [];
  if (records.length === 0) return { archived: null, records: 0 };
  const body = records.map((record) => JSON.stringify(record)).join('\\n') + '\\n';
  const sha256 = createHash('sha256').update(body).digest();
  const first = records[0].dynamodb || {};
  const at = new Date(Number(first.ApproximateCreationDateTime) * 1000 || Date.now());
  const stamp = at.toISOString();
  const key =
    prefix + stamp.slice(0, 10).replace(/-/g, '/') + '/' + stamp.replace(/[-:.]/g, '') + '-' +
    (first.SequenceNumber || 'none') + '-' + sha256.toString('hex') + '.jsonl';
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'application/x-ndjson',
        ChecksumSHA256: sha256.toString('base64'),
        IfNoneMatch: '*',
      }),
    );
  } catch (error) {
    const status = error && error.$metadata && error.$metadata.httpStatusCode;
    if (!(error && error.name === 'PreconditionFailed') && status !== 412) throw error;
  }
  console.log(JSON.stringify({ archived: key, records: records.length }));
  return { archived: key, records: records.length };
};
`;

export interface AuditArchiveProps {
  /** The audit table; it must have a stream with NEW_AND_OLD_IMAGES. */
  readonly table: dynamodb.Table;
  /** The table's key: reading its stream decrypts with it (through DynamoDB only). */
  readonly tableKey: kms.IKey;
  /** Object Lock default retention, COMPLIANCE mode, in days. */
  readonly retentionDays: number;
}

/**
 * The audit trail off the box: every record of the audit table's stream is copied, within about a
 * minute, into an S3 bucket under Object Lock in COMPLIANCE mode, where no one (the app, an operator,
 * the account root) can delete or overwrite it before its retention ends.
 *
 * Pipeline: DynamoDB stream -> Lambda event source mapping -> Lambda -> S3. Firehose (and an
 * EventBridge Pipe in front of it) was the first choice, but S3 rejects a PutObject without
 * Content-MD5 or an x-amz-checksum-* header into a bucket with a default retention ("Content-MD5 OR
 * x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"), and
 * nothing in Firehose's documentation says it sends either; a small Lambda sends one for certain.
 * With Lambda as the writer the Pipe would add a role and a hop for nothing: the event source mapping
 * has the same poller, starting position, batching and retry settings.
 */
export class AuditArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly role: iam.Role;
  readonly archiver: lambda.Function;
  readonly eventSourceMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: AuditArchiveProps) {
    super(scope, id);
    const retentionDays = validRetentionDays(props.retentionDays);
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error('the audit table has no stream');

    // A key of its own: its default policy trusts the account (IAM decides), and only the archiver
    // role is granted it (to encrypt, through S3). Readers of the archive are granted it apart from
    // the tables' key.
    this.key = new kms.Key(this, 'Key', {
      description: 'Deputy: encrypts the audit archive bucket (Object Lock, compliance mode)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(retentionDays)),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NobodyDeletesOrWeakensTheLock',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...ARCHIVE_DENIED_ACTIONS],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Its own role, least privilege: read the audit stream (and decrypt it through DynamoDB), put
    // objects under ARCHIVE_PREFIX (encrypting through S3), write its logs. Nothing else: no delete,
    // no per-object retention, no bucket configuration.
    this.role = new iam.Role(this, 'Role', {
      description: 'Deputy audit archiver: reads the audit stream, puts objects into the archive bucket',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const statements = [
      new iam.PolicyStatement({
        sid: 'AuditStreamRead',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
      // ListStreams has no resource-level permissions.
      new iam.PolicyStatement({ sid: 'ListStreams', actions: ['dynamodb:ListStreams'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'TableKeyThroughDynamoDb',
        actions: ['kms:Decrypt'],
        resources: [props.tableKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
      new iam.PolicyStatement({
        sid: 'ArchivePutObject',
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ARCHIVE_PREFIX}*`)],
      }),
      new iam.PolicyStatement({
        sid: 'ArchiveKeyThroughS3',
        actions: ['kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
      }),
    ];
    for (const statement of statements) this.role.addToPrincipalPolicy(statement);
    logGroup.grantWrite(this.role);

    this.archiver = new lambda.Function(this, 'Archiver', {
      description: 'Deputy: copies every audit table stream record into the Object Lock archive bucket',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(ARCHIVER_CODE),
      role: this.role,
      memorySize: 256,
      timeout: Duration.seconds(60),
      logGroup,
      environment: { ARCHIVE_BUCKET: this.bucket.bucketName, ARCHIVE_PREFIX },
    });

    // From the oldest record the stream holds; batches of up to 1000 records or 60 s. A failing batch
    // is split and retried with no retry or age limit, so nothing is skipped while it can still be
    // read: stream records live 24 hours, and a batch failing longer than that is lost (watch the
    // function's Errors and IteratorAge).
    this.eventSourceMapping = new lambda.EventSourceMapping(this, 'FromStream', {
      target: this.archiver,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 1000,
      maxBatchingWindow: Duration.seconds(60),
      bisectBatchOnError: true,
      retryAttempts: -1,
    });
    const mapping = this.eventSourceMapping.node.defaultChild as lambda.CfnEventSourceMapping;
    mapping.maximumRecordAgeInSeconds = -1;
    // Lambda checks, when the mapping is created, that the function's role may read the stream.
    this.eventSourceMapping.node.addDependency(this.role);
  }
}
