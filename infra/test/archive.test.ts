import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, test } from 'node:test';
import * as iam from 'aws-cdk-lib/aws-iam';
import { tableNames } from '../lib/contract';
import {
  ARCHIVE_DESTRUCTIVE,
  type AttachedStatement,
  actionCovers,
  allows,
  archiveDeleteViolations,
  archiveIds,
  archiveStatementViolations,
  identityStatements,
  mayReach,
  taskRoles,
} from './policies';
import {
  asArray,
  type CfnResource,
  type CfnTemplate,
  isRecord,
  onlyResource,
  props,
  referencedId,
  resourcesOfType,
  synthesize,
} from './support';

const { dataJson, serviceJson } = synthesize();
const names = tableNames('deputy-');
const ids = archiveIds(dataJson);

function tableNamed(template: CfnTemplate, name: string): [string, CfnResource] {
  const found = resourcesOfType(template, 'AWS::DynamoDB::Table').find(
    ([, r]) => props(r).TableName === name,
  );
  assert.ok(found, `no table named ${name}`);
  return found;
}

function bucketOf(template: CfnTemplate): Record<string, unknown> {
  return props(template.Resources[archiveIds(template).bucketId] ?? { Type: '' });
}

function resource(id: string | undefined): CfnResource {
  const found = id === undefined ? undefined : dataJson.Resources[id];
  assert.ok(found, `no resource ${id}`);
  return found;
}

/** The one event source mapping of the data stack, the function it invokes and that function's role. */
function pipeline() {
  const [mappingId, mapping] = onlyResource(dataJson, 'AWS::Lambda::EventSourceMapping');
  const functionId = referencedId(props(mapping).FunctionName);
  const fn = resource(functionId);
  assert.equal(fn.Type, 'AWS::Lambda::Function');
  const roleId = referencedId(props(fn).Role);
  assert.equal(resource(roleId).Type, 'AWS::IAM::Role');
  const statements = identityStatements(dataJson, 'data').filter((s) =>
    s.attachedTo.includes(String(roleId)),
  );
  return { mappingId, mapping, fn, roleId: String(roleId), statements };
}

describe('the audit table streams every change', () => {
  test('audit table: a stream with NEW_AND_OLD_IMAGES (edits and deletes carry what they changed)', () => {
    const [, audit] = tableNamed(dataJson, names.audit);
    assert.deepEqual(props(audit).StreamSpecification, { StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  test('main table: no stream', () => {
    const [, main] = tableNamed(dataJson, names.main);
    assert.equal(props(main).StreamSpecification, undefined);
  });
});

describe('the audit archive bucket', () => {
  test('Object Lock enabled, default retention COMPLIANCE for 400 days by default', () => {
    const bucket = bucketOf(dataJson);
    assert.equal(bucket.ObjectLockEnabled, true);
    assert.deepEqual(bucket.ObjectLockConfiguration, {
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } },
    });
  });

  test('the retention is a prop of the data stack, fed from the auditRetentionDays context', () => {
    const retention = (template: CfnTemplate) =>
      (bucketOf(template).ObjectLockConfiguration as { Rule: { DefaultRetention: Record<string, unknown> } })
        .Rule.DefaultRetention;
    assert.deepEqual(retention(synthesize({ auditRetentionDays: 730 }).dataJson), {
      Mode: 'COMPLIANCE',
      Days: 730,
    });
    // `cdk deploy -c auditRetentionDays=30` gives a string; cdk.json gives a number.
    assert.equal(retention(synthesize({ context: { auditRetentionDays: '30' } }).dataJson).Days, 30);
    assert.equal(retention(synthesize({ context: { auditRetentionDays: 3650 } }).dataJson).Days, 3650);
  });

  test('a retention that is not a whole number of days from 1 to 36500 fails synth', () => {
    for (const bad of [0, -1, 1.5, 36_501, Number.NaN]) {
      assert.throws(() => synthesize({ auditRetentionDays: bad }), /auditRetentionDays/, String(bad));
    }
    for (const bad of ['ten', '', '1.5', '-3', true]) {
      assert.throws(
        () => synthesize({ context: { auditRetentionDays: bad } }),
        /auditRetentionDays/,
        String(bad),
      );
    }
  });

  test('versioned, all public access blocked, ACLs disabled', () => {
    const bucket = bucketOf(dataJson);
    assert.deepEqual(bucket.VersioningConfiguration, { Status: 'Enabled' });
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(bucket.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  test('encrypted by default with its own rotating, retained KMS key (not the tables key)', () => {
    const bucket = bucketOf(dataJson);
    const [rule] = asArray(
      (bucket.BucketEncryption as Record<string, unknown>).ServerSideEncryptionConfiguration,
    ) as Array<{ ServerSideEncryptionByDefault: Record<string, unknown> }>;
    assert.equal(rule?.ServerSideEncryptionByDefault.SSEAlgorithm, 'aws:kms');
    const key = resource(ids.keyId);
    assert.equal(key.Type, 'AWS::KMS::Key');
    assert.equal(props(key).EnableKeyRotation, true);
    assert.equal(key.DeletionPolicy, 'Retain');
    const [, audit] = tableNamed(dataJson, names.audit);
    const tableKey = referencedId((props(audit).SSESpecification as Record<string, unknown>).KMSMasterKeyId);
    assert.notEqual(ids.keyId, tableKey);
  });

  test('retained when removed from the stack or replaced', () => {
    const bucket = resource(ids.bucketId);
    assert.equal(bucket.DeletionPolicy, 'Retain');
    assert.equal(bucket.UpdateReplacePolicy, 'Retain');
  });

  test('its name is a stack output', () => {
    const output = dataJson.Outputs?.AuditArchiveBucketName;
    assert.ok(output, 'output AuditArchiveBucketName');
    assert.deepEqual(output.Value, { Ref: ids.bucketId });
  });
});

describe('the bucket policy', () => {
  const [, policy] = onlyResource(dataJson, 'AWS::S3::BucketPolicy');
  const statements = asArray((props(policy).PolicyDocument as Record<string, unknown>).Statement).filter(
    isRecord,
  );
  const bucketArn = { 'Fn::GetAtt': [ids.bucketId, 'Arn'] };
  const objectsArn = { 'Fn::Join': ['', [bucketArn, '/*']] };

  test('is the archive bucket’s', () => {
    assert.deepEqual(props(policy).Bucket, { Ref: ids.bucketId });
  });

  test('denies every delete and lock-weakening action to every principal, unconditionally', () => {
    const denials = statements.filter(
      (s) =>
        s.Effect === 'Deny' &&
        s.Condition === undefined &&
        JSON.stringify(s.Principal) === JSON.stringify({ AWS: '*' }),
    );
    for (const action of ARCHIVE_DESTRUCTIVE) {
      const covering = denials.filter((s) => asArray(s.Action).some((a) => actionCovers(String(a), action)));
      assert.ok(covering.length > 0, `${action} is not denied to everyone`);
      for (const s of covering) {
        assert.deepEqual(asArray(s.Resource), [bucketArn, objectsArn], `${action}: bucket and its objects`);
      }
    }
  });

  test('does not deny PutBucketPolicy unconditionally (operators can still change the policy)', () => {
    for (const s of statements.filter((s) => s.Effect === 'Deny' && s.Condition === undefined)) {
      assert.equal(
        asArray(s.Action).some((a) => actionCovers(String(a), 's3:PutBucketPolicy')),
        false,
        JSON.stringify(s),
      );
    }
  });

  test('requires TLS and allows nothing', () => {
    assert.ok(
      statements.some(
        (s) =>
          s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      ),
    );
    assert.equal(
      statements.some((s) => s.Effect === 'Allow'),
      false,
    );
  });
});

describe('the pipeline: audit stream -> Lambda -> archive bucket', () => {
  const { mappingId, mapping, fn, roleId, statements } = pipeline();
  const [auditId] = tableNamed(dataJson, names.audit);

  test('the one event source mapping reads the audit table’s stream, from the oldest record', () => {
    assert.deepEqual(props(mapping).EventSourceArn, { 'Fn::GetAtt': [auditId, 'StreamArn'] });
    assert.equal(props(mapping).StartingPosition, 'TRIM_HORIZON');
    assert.equal(props(mapping).Enabled ?? true, true);
  });

  test('batches, and retries a failing batch without limit (splitting it) rather than dropping it', () => {
    const p = props(mapping);
    assert.ok(Number(p.BatchSize) >= 100, 'batches');
    assert.ok(
      Number(p.MaximumBatchingWindowInSeconds) > 0 && Number(p.MaximumBatchingWindowInSeconds) <= 300,
    );
    assert.equal(p.MaximumRetryAttempts, -1);
    assert.equal(p.MaximumRecordAgeInSeconds, -1);
    assert.equal(p.BisectBatchOnFunctionError, true);
  });

  test('created after the role may read the stream', () => {
    const dependsOn = asArray((dataJson.Resources[mappingId] as { DependsOn?: unknown }).DependsOn).map(
      String,
    );
    const rolePolicies = resourcesOfType(dataJson, 'AWS::IAM::Policy')
      .filter(([, r]) => asArray(props(r).Roles).some((role) => referencedId(role) === roleId))
      .map(([id]) => id);
    assert.ok(rolePolicies.length > 0);
    for (const id of rolePolicies) assert.ok(dependsOn.includes(id), `depends on ${id}`);
  });

  test('the function writes to the archive bucket (its environment names it; its role may put objects there)', () => {
    const env = (props(fn).Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(env.ARCHIVE_BUCKET, { Ref: ids.bucketId });
    const puts = statements.filter((s) => allows(s, 's3:PutObject'));
    assert.equal(puts.length, 1);
    assert.deepEqual(puts[0]?.resources, [
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.bucketId, 'Arn'] }, `/${String(env.ARCHIVE_PREFIX)}*`]] },
    ]);
    assert.equal(String(env.ARCHIVE_PREFIX), 'audit/');
  });

  test('its own role, least privilege: the audit stream, the table key through DynamoDB, put objects, its key through S3, its logs', () => {
    assert.deepEqual(props(resource(roleId)).ManagedPolicyArns, undefined);
    const allowed = statements.filter((s) => s.effect === 'Allow');
    const actions = allowed.flatMap((s) => s.actions).sort();
    assert.deepEqual(actions, [
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:PutObject',
    ]);
    for (const s of allowed) {
      assert.equal(s.notAction, false);
      for (const a of s.actions) assert.ok(!a.includes('*'), `${a}: no wildcard actions`);
      if (s.resources.includes('*')) assert.deepEqual(s.actions, ['dynamodb:ListStreams'], s.source);
    }
    const streamRead = allowed.find((s) => s.actions.includes('dynamodb:GetRecords'));
    assert.deepEqual(streamRead?.resources, [{ 'Fn::GetAtt': [auditId, 'StreamArn'] }]);
    const [, audit] = tableNamed(dataJson, names.audit);
    const tableKeyId = referencedId(
      (props(audit).SSESpecification as Record<string, unknown>).KMSMasterKeyId,
    );
    const decrypt = allowed.find((s) => s.actions.includes('kms:Decrypt'));
    assert.deepEqual(decrypt?.resources, [{ 'Fn::GetAtt': [tableKeyId, 'Arn'] }]);
    assert.match(JSON.stringify(decrypt?.condition), /kms:ViaService.*dynamodb\./);
    const encrypt = allowed.find((s) => s.actions.includes('kms:GenerateDataKey'));
    assert.deepEqual(encrypt?.resources, [{ 'Fn::GetAtt': [ids.keyId, 'Arn'] }]);
    assert.match(JSON.stringify(encrypt?.condition), /kms:ViaService.*s3\./);
  });

  test('no other role may use the archive key', () => {
    const all = [...identityStatements(serviceJson, 'service'), ...identityStatements(dataJson, 'data')];
    for (const s of all.filter((s) => s.effect === 'Allow' && s.actions.some((a) => a.startsWith('kms:')))) {
      if (s.resources.some((r) => mayReach(r, ids.keyId, dataJson, false))) {
        assert.deepEqual(s.attachedTo, [roleId], s.source);
      }
    }
  });
});

describe('the archiver function (its inline code, run against a stub S3 client)', () => {
  const { fn } = pipeline();
  const code = String((props(fn).Code as Record<string, unknown>).ZipFile);

  function load(fail?: unknown) {
    const sent: Array<Record<string, unknown>> = [];
    const s3 = {
      S3Client: class {
        async send(command: { input: Record<string, unknown> }) {
          sent.push(command.input);
          if (fail) throw fail;
          return {};
        }
      },
      PutObjectCommand: class {
        constructor(readonly input: Record<string, unknown>) {}
      },
    };
    const stubRequire = (name: string) => {
      if (name === '@aws-sdk/client-s3') return s3;
      if (name === 'node:crypto') return crypto;
      throw new Error(`the archiver requires ${name}: only node:crypto and the runtime's AWS SDK exist`);
    };
    const exports: { handler?: (event: unknown) => Promise<unknown> } = {};
    const env = { ARCHIVE_BUCKET: 'archive-bucket', ARCHIVE_PREFIX: 'audit/' };
    new Function('require', 'exports', 'process', code)(stubRequire, exports, { env });
    assert.equal(typeof exports.handler, 'function');
    return { handler: exports.handler as (event: unknown) => Promise<unknown>, sent };
  }

  const key = { pk: { S: 'audit#1' }, sk: { S: 'seq#1' } };
  const record = (eventName: string, sequence: string, images: Record<string, unknown>) => ({
    eventID: `id-${sequence}`,
    eventName,
    eventSource: 'aws:dynamodb',
    eventSourceARN:
      'arn:aws:dynamodb:eu-west-1:123456789012:table/deputy-audit/stream/2025-01-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1735787045,
      Keys: key,
      SequenceNumber: sequence,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...images,
    },
  });
  const event = {
    Records: [
      record('INSERT', '100', { NewImage: { ...key, action: { S: 'save' } } }),
      record('MODIFY', '101', {
        OldImage: { ...key, action: { S: 'save' } },
        NewImage: { ...key, action: { S: 'edited' } },
      }),
      record('REMOVE', '102', { OldImage: { ...key, action: { S: 'edited' } } }),
    ],
  };

  test('one JSON Lines object per batch: inserts, edits and deletes, with old and new images', async () => {
    const { handler, sent } = load();
    await handler(event);
    assert.equal(sent.length, 1);
    const put = sent[0] ?? {};
    assert.equal(put.Bucket, 'archive-bucket');
    assert.match(String(put.Key), /^audit\/2025\/01\/02\/20250102T030405000Z-100-[0-9a-f]{64}\.jsonl$/);
    const lines = String(put.Body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines, event.Records);
    assert.deepEqual(
      lines.map((l) => l.eventName),
      ['INSERT', 'MODIFY', 'REMOVE'],
    );
  });

  test('sends the SHA-256 checksum Object Lock requires, and writes only if the key is new', async () => {
    const { handler, sent } = load();
    await handler(event);
    const put = sent[0] ?? {};
    const sha256 = crypto.createHash('sha256').update(String(put.Body));
    assert.equal(put.ChecksumSHA256, sha256.copy().digest('base64'));
    assert.ok(String(put.Key).includes(sha256.digest('hex')), 'the key names the content');
    assert.equal(put.IfNoneMatch, '*');
    assert.equal(put.ObjectLockMode, undefined, 'no per-object lock: the bucket default applies');
  });

  test('a retried batch already archived (412) succeeds; any other error fails the invocation', async () => {
    const exists = Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await load(exists).handler(event);
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await assert.rejects(load(denied).handler(event), /Access Denied/);
  });

  test('an empty batch writes nothing', async () => {
    const { handler, sent } = load();
    await handler({ Records: [] });
    assert.equal(sent.length, 0);
  });
});

describe('nobody the deployment creates may delete from the archive or weaken its lock', () => {
  test('every role and policy in both stacks: no delete or lock-weakening action on the bucket, none on its key', () => {
    assert.deepEqual(archiveDeleteViolations(serviceJson, dataJson), []);
  });

  test('the roles checked include the task role, the execution role and the archiver role', () => {
    const { taskRole, executionRole } = taskRoles(serviceJson);
    const roles = [
      ...resourcesOfType(serviceJson, 'AWS::IAM::Role').map(([id]) => id),
      ...resourcesOfType(dataJson, 'AWS::IAM::Role').map(([id]) => id),
    ];
    for (const id of [taskRole, executionRole, pipeline().roleId]) assert.ok(roles.includes(id), id);
  });

  test('the task role and the execution role have no access at all to the bucket or its key', () => {
    const { taskRole, executionRole } = taskRoles(serviceJson);
    const statements = identityStatements(serviceJson, 'service').filter(
      (s) => s.attachedTo.includes(taskRole) || s.attachedTo.includes(executionRole),
    );
    assert.ok(statements.length > 0);
    for (const s of statements) {
      assert.equal(
        s.actions.some((a) => actionCovers(a, 's3:GetObject') || a.startsWith('s3:')),
        false,
        `${s.source}: S3 action`,
      );
      // "*" resources are fine for the actions above (no S3) unless they include KMS use.
      for (const r of s.resources.filter((r) => r !== '*')) {
        assert.equal(mayReach(r, ids.bucketId, dataJson, true), false, `${s.source}: names the bucket`);
        assert.equal(mayReach(r, ids.keyId, dataJson, false), false, `${s.source}: names the archive key`);
      }
      if (s.resources.includes('*')) {
        for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']) {
          assert.equal(allows(s, action), false, `${s.source}: ${action} on "*"`);
        }
      }
    }
  });

  test('the app never learns the bucket: no environment variable or output of the service names it', () => {
    assert.equal(JSON.stringify(serviceJson).includes(ids.bucketId), false);
  });
});

// The checker must catch what it is for: each case below breaks the property once.
describe('the archive check fails when a role could delete', () => {
  const statement = (actions: string[], resources: unknown[], extra: Partial<AttachedStatement> = {}) =>
    archiveStatementViolations(
      {
        source: 'synthetic',
        attachedTo: ['SomeRole'],
        effect: 'Allow',
        actions,
        notAction: false,
        resources,
        condition: undefined,
        ...extra,
      },
      ids,
      dataJson,
    );
  const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ids.bucketId, 'Arn'] }, '/*']] };

  test('a synthetic statement with s3:* on "*" is flagged, listing the forbidden actions', () => {
    const found = statement(['s3:*'], ['*']);
    for (const action of ARCHIVE_DESTRUCTIVE)
      assert.ok(found.some((p) => p.endsWith(`${action} on the archive bucket`)));
  });

  test('s3:Delete* on the bucket’s objects, "*" on the bucket, NotAction, and a wildcard bucket ARN are flagged', () => {
    assert.notDeepEqual(statement(['s3:Delete*'], [objects]), []);
    assert.notDeepEqual(statement(['*'], [{ 'Fn::GetAtt': [ids.bucketId, 'Arn'] }]), []);
    assert.notDeepEqual(statement(['s3:GetObject'], [objects], { notAction: true }), []);
    assert.notDeepEqual(statement(['s3:DeleteObjectVersion'], ['arn:aws:s3:::deputydata-*/*']), []);
    assert.notDeepEqual(statement(['s3:PutBucketPolicy'], [{ 'Fn::GetAtt': [ids.bucketId, 'Arn'] }]), []);
    assert.notDeepEqual(statement(['kms:ScheduleKeyDeletion'], [{ 'Fn::GetAtt': [ids.keyId, 'Arn'] }]), []);
  });

  test('what cannot delete from the archive is not flagged', () => {
    assert.deepEqual(statement(['s3:PutObject', 's3:GetObject'], [objects]), []);
    assert.deepEqual(statement(['s3:DeleteObject'], ['arn:aws:s3:::some-other-bucket/*']), []);
    assert.deepEqual(statement(['s3:*'], [objects], { effect: 'Deny' }), []);
  });

  test('s3:* on "*" given to the task role is caught in the synthesized stacks', () => {
    const broken = synthesize({}, ({ service }) => {
      service.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    });
    const problems = archiveDeleteViolations(broken.serviceJson, broken.dataJson);
    assert.ok(
      problems.some((p) => p.startsWith('service/') && p.includes('s3:DeleteObjectVersion')),
      problems.join('\n'),
    );
  });

  test('s3:DeleteObject for the archiver role, on the bucket’s objects, is caught', () => {
    const broken = synthesize({}, ({ data }) => {
      data.auditArchive.bucket.grantDelete(data.auditArchive.role);
    });
    const problems = archiveDeleteViolations(broken.serviceJson, broken.dataJson);
    assert.ok(
      problems.some((p) => p.includes('s3:DeleteObject on the archive bucket')),
      problems.join('\n'),
    );
  });

  test('a role of the service stack with delete rights on the bucket by name (through an import) is caught', () => {
    const broken = synthesize({}, ({ data, service }) => {
      service.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:DeleteObjectVersion'],
          resources: [data.auditArchive.bucket.arnForObjects('*')],
        }),
      );
    });
    assert.notDeepEqual(archiveDeleteViolations(broken.serviceJson, broken.dataJson), []);
  });
});
