import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AUDIT_WEBHOOK_SECRET_FIELDS, SECRET_FIELDS, tableNames } from '../lib/contract';
import {
  AUDIT_ALLOWED,
  actionCovers,
  allows,
  archiveIds,
  identityStatements,
  keyOfSecret,
  secretPolicyViolations,
  secretReadViolations,
  taskRoles,
  taskRoleViolations,
} from './policies';
import {
  AUDIT_WEBHOOK_SECRET_NAME,
  asArray,
  type CfnResource,
  type CfnTemplate,
  container,
  importedIds,
  isRecord,
  nameValueMap,
  onlyResource,
  props,
  referencedId,
  resourcesOfType,
  synthesize,
} from './support';

const { dataJson, serviceJson } = synthesize();
const names = tableNames('deputy-');
const { taskRole, executionRole } = taskRoles(serviceJson);
const taskRoleStatements = identityStatements(serviceJson, 'service').filter((s) =>
  s.attachedTo.includes(taskRole),
);
const [secretsKeyId, secretId] = keyOfSecret(dataJson);
const [, webhookSecretId] = keyOfSecret(dataJson, AUDIT_WEBHOOK_SECRET_NAME);

function statementsOn(tableName: string) {
  return taskRoleStatements.filter((s) =>
    s.resources.some((r) => JSON.stringify(r).includes(`:table/${tableName}`)),
  );
}

function actionsOn(tableName: string, indexes: boolean): string[] {
  return statementsOn(tableName)
    .filter((s) =>
      s.resources.some((r) => JSON.stringify(r).includes(`:table/${tableName}/index/`) === indexes),
    )
    .flatMap((s) => s.actions)
    .sort();
}

/** Asserts that the container secret `field` is that field of the data stack secret `id`. */
function assertFieldOf(template: CfnTemplate, field: string, id: string, what: string): void {
  const valueFrom = nameValueMap(container(template).Secrets, 'ValueFrom').get(field);
  assert.ok(isRecord(valueFrom), field);
  const join = valueFrom['Fn::Join'] as [string, unknown[]];
  assert.equal(join[0], '');
  assert.deepEqual(importedIds(join[1][0], dataJson), [id], `${field} comes from ${what}`);
  assert.equal(join[1][1], `:${field}::`);
}

/** The secret's one resource policy: a deny of GetSecretValue to all but the execution role, no allow. */
function assertOnlyExecutionRoleReads(id: string): void {
  const policies = resourcesOfType(dataJson, 'AWS::SecretsManager::ResourcePolicy').filter(
    ([, r]) => referencedId(props(r).SecretId) === id,
  );
  assert.equal(policies.length, 1, `one resource policy on ${id}`);
  const [, policy] = policies[0] as [string, CfnResource];
  const document = props(policy).ResourcePolicy as { Statement: Array<Record<string, unknown>> };
  const deny = document.Statement.find((s) => s.Effect === 'Deny');
  assert.ok(deny);
  assert.deepEqual(deny.Principal, { AWS: '*' });
  assert.ok(asArray(deny.Action).some((a) => actionCovers(String(a), 'secretsmanager:GetSecretValue')));
  const condition = JSON.stringify(deny.Condition);
  const roleName = props(serviceJson.Resources[executionRole] ?? { Type: '' }).RoleName;
  assert.equal(typeof roleName, 'string');
  assert.ok(condition.includes('ArnNotEquals') && condition.includes('aws:PrincipalArn'), condition);
  assert.ok(condition.includes(`:role/${String(roleName)}"`), condition);
  assert.equal(
    document.Statement.some((s) => s.Effect === 'Allow'),
    false,
    'the resource policy grants nothing',
  );
  assert.deepEqual(secretPolicyViolations(serviceJson, dataJson, id), []);
}

describe('secrets reach the container only as ECS secrets', () => {
  test('no environment variable of the task has the name of a secret', () => {
    const env = nameValueMap(container(serviceJson).Environment, 'Value');
    for (const field of [...SECRET_FIELDS, ...AUDIT_WEBHOOK_SECRET_FIELDS])
      assert.equal(env.has(field), false, `${field} in environment`);
  });

  test('every secret field is a container secret whose valueFrom is that field of the data stack secret', () => {
    const secrets = nameValueMap(container(serviceJson).Secrets, 'ValueFrom');
    assert.deepEqual(
      [...secrets.keys()].sort(),
      [...SECRET_FIELDS, ...AUDIT_WEBHOOK_SECRET_FIELDS].sort(),
      'the container secrets are the app secret fields and the audit webhook fields, nothing else',
    );
    for (const field of SECRET_FIELDS) assertFieldOf(serviceJson, field, secretId, 'the app secret');
  });

  test('DEPUTY_AUDIT_WEBHOOK_URL and _SECRET are container secrets from the audit webhook secret, never plain environment', () => {
    const c = container(serviceJson);
    const env = nameValueMap(c.Environment, 'Value');
    const secrets = nameValueMap(c.Secrets, 'ValueFrom');
    assert.deepEqual(
      [...AUDIT_WEBHOOK_SECRET_FIELDS],
      ['DEPUTY_AUDIT_WEBHOOK_URL', 'DEPUTY_AUDIT_WEBHOOK_SECRET'],
    );
    for (const field of AUDIT_WEBHOOK_SECRET_FIELDS) {
      assert.equal(env.has(field), false, `${field} in environment`);
      assert.ok(secrets.has(field), `${field} is no container secret`);
      assertFieldOf(serviceJson, field, webhookSecretId, 'the audit webhook secret');
    }
    assert.notEqual(webhookSecretId, secretId);
  });

  test('the execution role may read the secret and decrypt it, only through Secrets Manager', () => {
    const statements = identityStatements(serviceJson, 'service').filter((s) =>
      s.attachedTo.includes(executionRole),
    );
    const read = statements.filter((s) => allows(s, 'secretsmanager:GetSecretValue'));
    assert.equal(read.length, 1);
    assert.deepEqual(
      read
        .flatMap((s) => s.resources)
        .flatMap((r) => importedIds(r, dataJson))
        .sort(),
      [secretId, webhookSecretId].sort(),
    );
    const decrypt = statements.filter((s) => allows(s, 'kms:Decrypt'));
    assert.equal(decrypt.length, 1);
    assert.deepEqual(importedIds(decrypt[0]?.resources, dataJson), [secretsKeyId]);
    assert.match(JSON.stringify(decrypt[0]?.condition), /kms:ViaService.*secretsmanager\./);
  });

  test('the execution role reads the audit webhook secret exactly as it reads the app secret', () => {
    const statements = identityStatements(serviceJson, 'service').filter((s) =>
      s.attachedTo.includes(executionRole),
    );
    const on = (id: string) =>
      statements
        .filter((s) => s.resources.some((r) => importedIds(r, dataJson).includes(id)))
        .map((s) =>
          JSON.stringify({ effect: s.effect, actions: [...s.actions].sort(), condition: s.condition }),
        )
        .sort();
    assert.ok(on(webhookSecretId).some((s) => s.includes('"secretsmanager:GetSecretValue"')));
    assert.deepEqual(on(webhookSecretId), on(secretId));
  });

  test('no other role or policy in either stack may read the secret or decrypt its key', () => {
    assert.deepEqual(secretReadViolations(serviceJson, dataJson), []);
  });

  test('the task role (the app) has no statement about the secret or its key', () => {
    for (const s of taskRoleStatements) {
      assert.equal(allows(s, 'secretsmanager:GetSecretValue'), false, s.source);
      const ids = s.resources.flatMap((r) => importedIds(r, dataJson));
      assert.equal(ids.includes(secretId) || ids.includes(secretsKeyId), false, s.source);
    }
  });

  test('the task role (the app) has no statement about the audit webhook secret', () => {
    for (const s of taskRoleStatements) {
      assert.equal(allows(s, 'secretsmanager:GetSecretValue'), false, s.source);
      assert.equal(
        s.resources.flatMap((r) => importedIds(r, dataJson)).includes(webhookSecretId),
        false,
        s.source,
      );
    }
  });

  test("the secret's resource policy denies GetSecretValue to everyone but the execution role", () => {
    assertOnlyExecutionRoleReads(secretId);
  });

  test("the audit webhook secret's resource policy denies GetSecretValue to everyone but the execution role", () => {
    assertOnlyExecutionRoleReads(webhookSecretId);
  });

  test('the service starts tasks only after the execution role may read the secrets', () => {
    const [, svc] = onlyResource(serviceJson, 'AWS::ECS::Service');
    const dependsOn = asArray(svc.DependsOn);
    const readers = identityStatements(serviceJson, 'service')
      .filter((s) => s.attachedTo.includes(executionRole) && allows(s, 'secretsmanager:GetSecretValue'))
      .map((s) => s.source.replace(/^service\//, ''));
    assert.notDeepEqual(readers, []);
    for (const policy of readers) assert.ok(dependsOn.includes(policy), `the service waits for ${policy}`);
  });

  test("the secrets key's policy trusts only the account (IAM decides, and only the execution role is granted)", () => {
    const key = dataJson.Resources[secretsKeyId];
    const statements = asArray((props(key ?? { Type: '' }).KeyPolicy as Record<string, unknown>).Statement);
    for (const s of statements) {
      assert.ok(isRecord(s));
      const principal = JSON.stringify(s.Principal);
      assert.ok(/:root"/.test(principal) && !principal.includes('Service'), principal);
    }
  });
});

describe('least-privilege task role', () => {
  test('main table: exactly Get/BatchGet/Put/Update/Delete/Query/DescribeTable; its indexes: Query', () => {
    assert.deepEqual(actionsOn(names.main, false), [
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    assert.deepEqual(actionsOn(names.main, true), ['dynamodb:Query']);
  });

  test('every DynamoDB operation the store sends is granted on the main table (a batch read once was not)', () => {
    const storeDir = join(__dirname, '..', '..', 'src', 'store');
    const sent = new Set<string>();
    for (const file of readdirSync(storeDir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(storeDir, file), 'utf8');
      for (const [, command] of source.matchAll(/new (\w+)Command\(/g)) sent.add(command ?? '');
    }
    // The document client's names for DynamoDB's operations. Creating and updating tables is for
    // local engines only; Scan is for the audit verifier and export, run with operators' credentials.
    const operation: Record<string, string> = {
      Get: 'GetItem',
      BatchGet: 'BatchGetItem',
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      Query: 'Query',
      DescribeTable: 'DescribeTable',
    };
    for (const notTheApps of ['CreateTable', 'UpdateTable', 'Scan']) sent.delete(notTheApps);
    const granted = actionsOn(names.main, false);
    for (const command of sent) {
      assert.ok(operation[command], `${command}Command is sent by the store: say which action it needs`);
      assert.ok(
        granted.includes(`dynamodb:${operation[command]}`),
        `dynamodb:${operation[command]} not granted`,
      );
    }
  });

  test('audit table: only PutItem, GetItem, Query (and DescribeTable); its indexes: Query', () => {
    const onTable = actionsOn(names.audit, false);
    assert.deepEqual(onTable, [...AUDIT_ALLOWED].sort());
    assert.deepEqual(actionsOn(names.audit, true), ['dynamodb:Query']);
  });

  test('no statement reaching the audit table allows update, delete, batch write or PartiQL; no wildcards', () => {
    assert.deepEqual(taskRoleViolations(serviceJson, dataJson, 'deputy-'), []);
  });

  test('the table key only through DynamoDB; no CloudWatch, logs or secrets permissions', () => {
    const kmsStatements = taskRoleStatements.filter((s) => s.actions.some((a) => a.startsWith('kms:')));
    assert.equal(kmsStatements.length, 1);
    const [tableKeyId] = resourcesOfType(dataJson, 'AWS::KMS::Key')
      .map(([id]) => id)
      .filter((id) => id !== secretsKeyId && id !== archiveIds(dataJson).keyId);
    assert.deepEqual(importedIds(kmsStatements[0]?.resources, dataJson), [tableKeyId]);
    assert.match(JSON.stringify(kmsStatements[0]?.condition), /kms:ViaService.*dynamodb\./);
    const services = new Set(taskRoleStatements.flatMap((s) => s.actions.map((a) => a.split(':')[0])));
    assert.deepEqual([...services].sort(), ['dynamodb', 'kms']);
  });
});

// The checkers above must catch what they are for: each mutation below breaks one property.
describe('the policy checks fail when a property is broken', () => {
  test('UpdateItem on the audit table (by literal ARN) is caught', () => {
    const broken = synthesize({}, ({ service }) => {
      service.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:UpdateItem'],
          resources: [
            service.formatArn({ service: 'dynamodb', resource: 'table', resourceName: names.audit }),
          ],
        }),
      );
    });
    assert.notDeepEqual(taskRoleViolations(broken.serviceJson, broken.dataJson, 'deputy-'), []);
  });

  test("DeleteItem on the audit table (through the data stack's export) is caught", () => {
    const broken = synthesize({}, ({ data, service }) => {
      service.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [data.auditTable.tableArn] }),
      );
    });
    assert.notDeepEqual(taskRoleViolations(broken.serviceJson, broken.dataJson, 'deputy-'), []);
  });

  test('a wildcard action (dynamodb:*) is caught', () => {
    const broken = synthesize({}, ({ data, service }) => {
      service.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: [data.mainTable.tableArn] }),
      );
    });
    assert.notDeepEqual(taskRoleViolations(broken.serviceJson, broken.dataJson, 'deputy-'), []);
  });

  test('the task role reading the secret is caught', () => {
    const broken = synthesize({}, ({ data, service }) => {
      service.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [data.appSecret.secretArn],
        }),
      );
    });
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });

  test('the task role reading the audit webhook secret is caught', () => {
    const broken = synthesize({}, ({ data, service }) => {
      service.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [data.auditWebhookSecret.secretArn],
        }),
      );
    });
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });

  test('another role in the data stack granted read on the audit webhook secret is caught', () => {
    const broken = synthesize({}, ({ data }) => {
      data.auditWebhookSecret.grantRead(
        new iam.Role(data, 'Other', { assumedBy: new iam.AccountRootPrincipal() }),
      );
    });
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });

  test('the audit webhook secret without its resource policy is caught', () => {
    const broken = synthesize({}, ({ data }) => {
      assert.ok(data.auditWebhookSecret.node.tryRemoveChild('Policy'), 'the policy construct is gone');
    });
    assert.deepEqual(
      resourcesOfType(broken.dataJson, 'AWS::SecretsManager::ResourcePolicy').length,
      1,
      'only the app secret keeps a policy',
    );
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });

  test("the audit webhook secret's resource policy allowing another principal to read is caught", () => {
    const broken = synthesize({}, ({ data }) => {
      data.auditWebhookSecret.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.AccountRootPrincipal()],
          actions: ['secretsmanager:GetSecretValue'],
          resources: ['*'],
        }),
      );
    });
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });

  test("the audit webhook secret's deny narrowed by a further condition is caught", () => {
    const broken = synthesize({}, ({ data }) => {
      const policy = data.auditWebhookSecret.node.findChild('Policy').node
        .defaultChild as secretsmanager.CfnResourcePolicy;
      policy.addPropertyOverride('ResourcePolicy.Statement.0.Condition.Bool', {
        'aws:ViaAWSService': 'false',
      });
    });
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });

  test('another role decrypting with the secrets key is caught', () => {
    const broken = synthesize({}, ({ data }) => {
      data.secretsKey.grantDecrypt(
        new iam.Role(data, 'Other', { assumedBy: new iam.AccountRootPrincipal() }),
      );
    });
    assert.notDeepEqual(secretReadViolations(broken.serviceJson, broken.dataJson), []);
  });
});
