import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import {
  AUDIT_WEBHOOK_SECRET_FIELDS,
  EXPIRY_ATTRIBUTE,
  SECRET_FIELDS,
  TABLE_INDEXES,
  tableNames,
} from '../lib/contract';
import {
  APP_SECRET_NAME,
  AUDIT_WEBHOOK_SECRET_NAME,
  container,
  nameValueMap,
  props,
  referencedId,
  resourcesOfType,
  secretNamed,
  synthesize,
} from './support';

const { data, dataJson, serviceJson } = synthesize();
const names = tableNames('deputy-');

function tableNamed(name: string) {
  const found = resourcesOfType(dataJson, 'AWS::DynamoDB::Table').find(
    ([, r]) => props(r).TableName === name,
  );
  assert.ok(found, `no table named ${name}`);
  return found;
}

/** What src/store/tables.ts creates for a table with these indexes. */
function expectedShape(indexes: readonly string[]) {
  const keys = (prefix: string) => [
    { AttributeName: `${prefix}pk`, KeyType: 'HASH' },
    { AttributeName: `${prefix}sk`, KeyType: 'RANGE' },
  ];
  return {
    KeySchema: keys(''),
    AttributeDefinitions: ['pk', 'sk', ...indexes.flatMap((i) => [`${i}pk`, `${i}sk`])].map(
      (AttributeName) => ({
        AttributeName,
        AttributeType: 'S',
      }),
    ),
    GlobalSecondaryIndexes: indexes.map((IndexName) => ({
      IndexName,
      KeySchema: keys(IndexName),
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

function sortByName<T extends { AttributeName?: string; IndexName?: string }>(list: T[]): T[] {
  return [...list].sort((a, b) =>
    (a.AttributeName ?? a.IndexName ?? '').localeCompare(b.AttributeName ?? b.IndexName ?? ''),
  );
}

function shapeOf(name: string) {
  const [, table] = tableNamed(name);
  const p = props(table);
  return {
    KeySchema: p.KeySchema,
    AttributeDefinitions: sortByName(p.AttributeDefinitions as Array<{ AttributeName: string }>),
    GlobalSecondaryIndexes: sortByName(p.GlobalSecondaryIndexes as Array<{ IndexName: string }>),
  };
}

describe('DynamoDB tables', () => {
  test('exactly two tables, <prefix>main and <prefix>audit', () => {
    const tableNamesFound = resourcesOfType(dataJson, 'AWS::DynamoDB::Table').map(
      ([, r]) => props(r).TableName,
    );
    assert.deepEqual(tableNamesFound.sort(), [names.audit, names.main]);
  });

  test('main: pk/sk strings and GSI gsi1 (gsi1pk/gsi1sk, projection ALL)', () => {
    const expected = expectedShape(TABLE_INDEXES.main);
    assert.deepEqual(shapeOf(names.main), {
      ...expected,
      AttributeDefinitions: sortByName(expected.AttributeDefinitions),
    });
    assert.deepEqual(TABLE_INDEXES.main, ['gsi1']);
  });

  test('audit: pk/sk strings and GSIs gsi1 to gsi4 (projection ALL)', () => {
    const expected = expectedShape(TABLE_INDEXES.audit);
    assert.deepEqual(shapeOf(names.audit), {
      ...expected,
      AttributeDefinitions: sortByName(expected.AttributeDefinitions),
    });
    assert.deepEqual(TABLE_INDEXES.audit, ['gsi1', 'gsi2', 'gsi3', 'gsi4']);
  });

  test('an upgrade adding two audit indexes goes in two deploys: auditIndexCount holds back the newest', () => {
    const staged = synthesize({ context: { auditIndexCount: '3' } }).dataJson;
    const audit = resourcesOfType(staged, 'AWS::DynamoDB::Table').find(
      ([, r]) => props(r).TableName === names.audit,
    );
    assert.deepEqual(
      (props(audit?.[1] as never).GlobalSecondaryIndexes as Array<{ IndexName: string }>).map(
        (i) => i.IndexName,
      ),
      ['gsi1', 'gsi2', 'gsi3'],
    );
    for (const bad of ['0', '5', 'two'])
      assert.throws(() => synthesize({ context: { auditIndexCount: bad } }), /auditIndexCount must be/);
  });

  // The app's own table definitions (src/store/tables.ts), loaded when the repository's root
  // dependencies are installed (they are whenever `npm test` or `npm start` ran at the root).
  test("both tables match the app's own definitions in src/store/tables.ts", async (t) => {
    const root = join(__dirname, '..', '..');
    if (!existsSync(join(root, 'node_modules', '@aws-sdk', 'client-dynamodb'))) {
      t.skip('root dependencies not installed (run npm install at the repository root to cross-check)');
      return;
    }
    const moduleUrl = pathToFileURL(join(root, 'src', 'store', 'tables.ts')).href;
    const app = (await import(moduleUrl)) as {
      tableNames(prefix: string): { main: string; audit: string };
      tableDefinitions(n: { main: string; audit: string }): Array<Record<string, unknown>>;
      EXPIRY_ATTRIBUTE: string;
    };
    assert.deepEqual(app.tableNames('deputy-'), names);
    assert.equal(app.EXPIRY_ATTRIBUTE, EXPIRY_ATTRIBUTE);
    for (const definition of app.tableDefinitions(app.tableNames('deputy-'))) {
      const name = String(definition.TableName);
      const [, table] = tableNamed(name);
      assert.equal(props(table).BillingMode, definition.BillingMode, `${name} billing`);
      assert.deepEqual(shapeOf(name), {
        KeySchema: definition.KeySchema,
        AttributeDefinitions: sortByName(definition.AttributeDefinitions as Array<{ AttributeName: string }>),
        GlobalSecondaryIndexes: sortByName(definition.GlobalSecondaryIndexes as Array<{ IndexName: string }>),
      });
    }
  });

  for (const name of [names.main, names.audit]) {
    test(`${name}: on-demand, point-in-time recovery, TTL on ${EXPIRY_ATTRIBUTE}, deletion protection`, () => {
      data.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: EXPIRY_ATTRIBUTE, Enabled: true },
        DeletionProtectionEnabled: true,
      });
      assert.equal(props(tableNamed(name)[1]).ProvisionedThroughput, undefined);
    });

    test(`${name}: encrypted with a customer-managed KMS key that rotates`, () => {
      const [, table] = tableNamed(name);
      const sse = props(table).SSESpecification as Record<string, unknown>;
      assert.equal(sse.SSEEnabled, true);
      assert.equal(sse.SSEType, 'KMS');
      const keyId = referencedId(sse.KMSMasterKeyId);
      assert.ok(keyId, 'SSE names a key of this stack');
      const key = dataJson.Resources[keyId];
      assert.equal(key?.Type, 'AWS::KMS::Key');
      assert.equal(props(key).EnableKeyRotation, true);
    });

    test(`${name}: retained when removed from the stack or replaced`, () => {
      const [, table] = tableNamed(name);
      assert.equal(table.DeletionPolicy, 'Retain');
      assert.equal(table.UpdateReplacePolicy, 'Retain');
    });
  }

  test('the table prefix is a prop: it names the tables and sets DEPUTY_TABLE_PREFIX in the container', () => {
    const custom = synthesize({ tablePrefix: 'acme-' });
    const found = resourcesOfType(custom.dataJson, 'AWS::DynamoDB::Table').map(([, r]) => props(r).TableName);
    assert.deepEqual(found.sort(), ['acme-audit', 'acme-main']);
    assert.equal(
      nameValueMap(container(custom.serviceJson).Environment, 'Value').get('DEPUTY_TABLE_PREFIX'),
      'acme-',
    );
    assert.equal(
      nameValueMap(container(serviceJson).Environment, 'Value').get('DEPUTY_TABLE_PREFIX'),
      'deputy-',
    );
  });
});

describe('secret, keys and image repository', () => {
  test('exactly two secrets: the app secret deputy/app and the audit webhook secret deputy/audit-webhook', () => {
    const found = resourcesOfType(dataJson, 'AWS::SecretsManager::Secret').map(([, r]) => props(r).Name);
    assert.deepEqual(found.sort(), [APP_SECRET_NAME, AUDIT_WEBHOOK_SECRET_NAME].sort());
    const custom = synthesize({ tablePrefix: 'acme-' }).dataJson;
    const customNames = resourcesOfType(custom, 'AWS::SecretsManager::Secret').map(([, r]) => props(r).Name);
    assert.deepEqual(customNames.sort(), ['acme/app', 'acme/audit-webhook']);
  });

  test('one JSON secret holding every secret field (empty until filled), with a rotating customer-managed key', () => {
    const [, secret] = secretNamed(dataJson, APP_SECRET_NAME);
    const fields = JSON.parse(String(props(secret).SecretString)) as Record<string, string>;
    assert.deepEqual(Object.keys(fields).sort(), [...SECRET_FIELDS].sort());
    assert.ok(
      Object.values(fields).every((v) => v === ''),
      'the template holds no secret value',
    );
    const keyId = referencedId(props(secret).KmsKeyId);
    assert.ok(keyId);
    assert.equal(props(dataJson.Resources[keyId] ?? { Type: '' }).EnableKeyRotation, true);
  });

  test("the app secret's fields are unchanged by the audit webhook (a change would wipe the values put there)", () => {
    const [, secret] = secretNamed(dataJson, APP_SECRET_NAME);
    // The placeholder as deployed before the audit webhook: CloudFormation rewrites the secret, and
    // so erases what operators put in it, whenever this string changes.
    assert.equal(
      props(secret).SecretString,
      JSON.stringify(
        Object.fromEntries(
          [
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
          ].map((f) => [f, '']),
        ),
      ),
    );
    for (const field of AUDIT_WEBHOOK_SECRET_FIELDS)
      assert.equal((SECRET_FIELDS as readonly string[]).includes(field), false, `${field} in SECRET_FIELDS`);
  });

  test('the audit webhook secret holds exactly DEPUTY_AUDIT_WEBHOOK_URL and DEPUTY_AUDIT_WEBHOOK_SECRET, both empty', () => {
    const [, secret] = secretNamed(dataJson, AUDIT_WEBHOOK_SECRET_NAME);
    const fields = JSON.parse(String(props(secret).SecretString)) as Record<string, string>;
    assert.deepEqual(fields, { DEPUTY_AUDIT_WEBHOOK_URL: '', DEPUTY_AUDIT_WEBHOOK_SECRET: '' });
    assert.deepEqual(Object.keys(fields).sort(), [...AUDIT_WEBHOOK_SECRET_FIELDS].sort());
    assert.equal(props(secret).GenerateSecretString, undefined, 'nothing generated into it');
  });

  test('the audit webhook secret is encrypted with the secrets key (the one the app secret uses)', () => {
    const [, app] = secretNamed(dataJson, APP_SECRET_NAME);
    const [, webhook] = secretNamed(dataJson, AUDIT_WEBHOOK_SECRET_NAME);
    const keyId = referencedId(props(webhook).KmsKeyId);
    assert.ok(keyId, 'a customer-managed key of this stack');
    assert.equal(dataJson.Resources[keyId]?.Type, 'AWS::KMS::Key');
    assert.equal(keyId, referencedId(props(app).KmsKeyId));
  });

  test('the audit webhook secret is retained when removed from the stack or replaced', () => {
    const [, secret] = secretNamed(dataJson, AUDIT_WEBHOOK_SECRET_NAME);
    assert.equal(secret.DeletionPolicy, 'Retain');
    assert.equal(secret.UpdateReplacePolicy, 'Retain');
  });

  test('secrets key and tables key are different keys', () => {
    const [, secret] = secretNamed(dataJson, APP_SECRET_NAME);
    const sse = props(tableNamed(names.main)[1]).SSESpecification as Record<string, unknown>;
    assert.notEqual(referencedId(props(secret).KmsKeyId), referencedId(sse.KMSMasterKeyId));
  });

  test('keys, secret and repository are retained when the stack is deleted', () => {
    for (const type of ['AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::ECR::Repository']) {
      for (const [id, resource] of resourcesOfType(dataJson, type)) {
        assert.equal(resource.DeletionPolicy, 'Retain', `${id} DeletionPolicy`);
      }
    }
  });

  test('image repository: immutable tags, scanned on push', () => {
    data.hasResourceProperties('AWS::ECR::Repository', {
      ImageTagMutability: 'IMMUTABLE',
      ImageScanningConfiguration: { ScanOnPush: true },
      RepositoryName: 'deputy',
      LifecyclePolicy: Match.anyValue(),
    });
  });
});
