import { tableNames } from '../lib/contract';
import {
  APP_SECRET_NAME,
  AUDIT_WEBHOOK_SECRET_NAME,
  asArray,
  type CfnResource,
  type CfnTemplate,
  importedIds,
  isRecord,
  onlyResource,
  props,
  referencedId,
  resourcesOfType,
  secretNamed,
} from './support';

/** One statement of an identity policy, and what it is attached to. */
export interface AttachedStatement {
  /** Which template and resource it comes from, for messages. */
  source: string;
  /** Logical ids of the roles it is attached to; `user:`/`group:` entries for anything else. */
  attachedTo: string[];
  effect: string;
  actions: string[];
  /** Set when the statement uses NotAction (which allows almost everything). */
  notAction: boolean;
  resources: unknown[];
  condition: unknown;
}

function attachments(p: Record<string, unknown>): string[] {
  const to: string[] = [];
  for (const role of asArray(p.Roles)) to.push(referencedId(role) ?? `role:${JSON.stringify(role)}`);
  for (const user of asArray(p.Users)) to.push(`user:${JSON.stringify(user)}`);
  for (const group of asArray(p.Groups)) to.push(`group:${JSON.stringify(group)}`);
  return to;
}

function statementsOf(document: unknown, source: string, attachedTo: string[]): AttachedStatement[] {
  if (!isRecord(document)) return [];
  return asArray(document.Statement)
    .filter(isRecord)
    .map((s) => ({
      source,
      attachedTo,
      effect: String(s.Effect),
      actions: asArray(s.Action).map(String),
      notAction: s.NotAction !== undefined,
      resources: asArray(s.Resource ?? (s.NotResource !== undefined ? '*' : undefined)),
      condition: s.Condition,
    }));
}

/** Every identity-policy statement in a template: policies, managed policies and roles' inline policies. */
export function identityStatements(template: CfnTemplate, name: string): AttachedStatement[] {
  const out: AttachedStatement[] = [];
  for (const [id, r] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    out.push(...statementsOf(props(r).PolicyDocument, `${name}/${id}`, attachments(props(r))));
  }
  for (const [id, r] of resourcesOfType(template, 'AWS::IAM::ManagedPolicy')) {
    out.push(...statementsOf(props(r).PolicyDocument, `${name}/${id}`, attachments(props(r))));
  }
  for (const [id, r] of resourcesOfType(template, 'AWS::IAM::Role')) {
    for (const inline of asArray(props(r).Policies).filter(isRecord)) {
      out.push(...statementsOf(inline.PolicyDocument, `${name}/${id}`, [id]));
    }
  }
  return out;
}

/** Whether an IAM action pattern (with `*` and `?`, case-insensitive) covers `action`. */
export function actionCovers(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    'i',
  );
  return regex.test(action);
}

/** Whether an Allow statement may grant `action` (NotAction counts as yes). */
export function allows(statement: AttachedStatement, action: string): boolean {
  if (statement.effect !== 'Allow') return false;
  return statement.notAction || statement.actions.some((a) => actionCovers(a, action));
}

/** The ECS task role and execution role, as the task definition names them. */
export function taskRoles(serviceJson: CfnTemplate): { taskRole: string; executionRole: string } {
  const [, task] = onlyResource(serviceJson, 'AWS::ECS::TaskDefinition');
  const taskRole = referencedId(props(task).TaskRoleArn);
  const executionRole = referencedId(props(task).ExecutionRoleArn);
  if (!taskRole || !executionRole) throw new Error('task definition names no task or execution role');
  return { taskRole, executionRole };
}

/** Actions on the audit table that could change or remove history. */
export const AUDIT_FORBIDDEN = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:TransactWriteItems',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:PartiQLInsert',
  'dynamodb:DeleteTable',
  'dynamodb:UpdateTable',
  'dynamodb:UpdateTimeToLive',
  'dynamodb:RestoreTableFromBackup',
  'dynamodb:ImportTable',
];
/** All the task role may do on the audit table and its indexes. */
export const AUDIT_ALLOWED = [
  'dynamodb:PutItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:DescribeTable',
];

/**
 * Problems with the task role's policies: any wildcard action, NotAction or `*` resource, and any
 * statement reaching the audit table (by name or through the data stack's export) that allows more
 * than AUDIT_ALLOWED. Empty when the role is least-privilege as required.
 */
export function taskRoleViolations(
  serviceJson: CfnTemplate,
  dataJson: CfnTemplate,
  tablePrefix: string,
): string[] {
  const { taskRole } = taskRoles(serviceJson);
  const auditName = tableNames(tablePrefix).audit;
  const [auditId] = resourcesOfType(dataJson, 'AWS::DynamoDB::Table').find(
    ([, r]) => props(r).TableName === auditName,
  ) ?? [undefined];
  const problems: string[] = [];
  const statements = identityStatements(serviceJson, 'service').filter((s) =>
    s.attachedTo.includes(taskRole),
  );
  for (const s of statements) {
    if (s.effect !== 'Allow') continue;
    if (s.notAction) problems.push(`${s.source}: NotAction`);
    for (const action of s.actions)
      if (action.includes('*') || action.includes('?'))
        problems.push(`${s.source}: wildcard action ${action}`);
    const reachesAudit = s.resources.some((r) => {
      if (r === '*') return true;
      const text = JSON.stringify(r);
      return (
        text.includes(`:table/${auditName}"`) ||
        text.includes(`:table/${auditName}/`) ||
        (auditId !== undefined && importedIds(r, dataJson).includes(auditId))
      );
    });
    if (s.resources.includes('*')) problems.push(`${s.source}: Resource "*"`);
    if (!reachesAudit) continue;
    for (const action of s.actions) {
      if (!AUDIT_ALLOWED.some((allowed) => allowed.toLowerCase() === action.toLowerCase())) {
        problems.push(`${s.source}: ${action} on the audit table`);
      }
    }
    for (const forbidden of AUDIT_FORBIDDEN) {
      if (allows(s, forbidden)) problems.push(`${s.source}: allows ${forbidden} on the audit table`);
    }
  }
  return problems;
}

/** Both secrets the container reads, by name (default table prefix). */
export const SECRET_NAMES = [APP_SECRET_NAME, AUDIT_WEBHOOK_SECRET_NAME] as const;

/**
 * Problems with who may read the secrets (the app secret and the audit webhook secret): every
 * statement (in either stack) that may allow secretsmanager:GetSecretValue, or kms:Decrypt on a key
 * of either secret (or on `*`), must be attached to the execution role and nothing else; no role may
 * carry managed policies (which could grant it); and each secret's resource policy must deny
 * GetSecretValue to every principal but the execution role (see secretPolicyViolations).
 */
export function secretReadViolations(serviceJson: CfnTemplate, dataJson: CfnTemplate): string[] {
  const { executionRole } = taskRoles(serviceJson);
  const secrets = SECRET_NAMES.map((name) => keyOfSecret(dataJson, name));
  const keyIds = new Set(secrets.map(([keyId]) => keyId));
  const problems: string[] = [];
  const all = [...identityStatements(serviceJson, 'service'), ...identityStatements(dataJson, 'data')];
  for (const s of all) {
    const readsSecret = allows(s, 'secretsmanager:GetSecretValue');
    const decryptsSecretsKey =
      allows(s, 'kms:Decrypt') &&
      s.resources.some((r) => {
        if (r === '*') return true;
        const direct = referencedId(r);
        return (
          (direct !== undefined && keyIds.has(direct)) ||
          importedIds(r, dataJson).some((id) => keyIds.has(id))
        );
      });
    if (!readsSecret && !decryptsSecretsKey) continue;
    const others = s.attachedTo.filter((to) => to !== executionRole);
    if (others.length > 0 || s.attachedTo.length === 0) {
      problems.push(
        `${s.source}: ${readsSecret ? 'GetSecretValue' : 'kms:Decrypt on the secrets key'} for ${others.join(', ') || 'nobody named'}`,
      );
    }
  }
  for (const [, secretId] of secrets)
    problems.push(...secretPolicyViolations(serviceJson, dataJson, secretId));
  for (const [name, template] of [
    ['service', serviceJson],
    ['data', dataJson],
  ] as const) {
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      if (asArray(props(role).ManagedPolicyArns).length > 0) problems.push(`${name}/${id}: managed policies`);
    }
  }
  return problems;
}

/**
 * Problems with one secret's resource policy: there must be exactly one, allowing nothing, with a
 * statement denying GetSecretValue on the secret to every principal (`AWS: *`) whose ARN is not the
 * execution role's, under that condition alone (another condition would narrow the deny).
 */
export function secretPolicyViolations(
  serviceJson: CfnTemplate,
  dataJson: CfnTemplate,
  secretId: string,
): string[] {
  const { executionRole } = taskRoles(serviceJson);
  const roleName = props(serviceJson.Resources[executionRole] ?? { Type: '' }).RoleName;
  if (typeof roleName !== 'string') return ['the execution role has no fixed name for the policy to name'];
  const policies = resourcesOfType(dataJson, 'AWS::SecretsManager::ResourcePolicy').filter(
    ([, r]) => referencedId(props(r).SecretId) === secretId,
  );
  if (policies.length !== 1) return [`${secretId}: ${policies.length} resource policies, expected 1`];
  const [policyId, policy] = policies[0] as [string, CfnResource];
  const document = props(policy).ResourcePolicy;
  const statements = isRecord(document) ? asArray(document.Statement).filter(isRecord) : [];
  const problems: string[] = [];
  if (statements.some((s) => s.Effect !== 'Deny')) problems.push(`${policyId}: allows something`);
  const denies = statements.some((s) => {
    if (s.Effect !== 'Deny' || JSON.stringify(s.Principal) !== '{"AWS":"*"}') return false;
    if (!asArray(s.Action).some((a) => actionCovers(String(a), 'secretsmanager:GetSecretValue')))
      return false;
    if (JSON.stringify(asArray(s.Resource)) !== '["*"]') return false;
    const condition = s.Condition;
    if (!isRecord(condition) || Object.keys(condition).join() !== 'ArnNotEquals') return false;
    const arnNotEquals = condition.ArnNotEquals;
    if (!isRecord(arnNotEquals) || Object.keys(arnNotEquals).join() !== 'aws:PrincipalArn') return false;
    const arn = arnNotEquals['aws:PrincipalArn'];
    // A literal ARN, or the Fn::Join formatArn makes: either way ending in exactly this role's name.
    const text = JSON.stringify(arn);
    return (
      !Array.isArray(arn) && (text.endsWith(`:role/${roleName}"`) || text.endsWith(`:role/${roleName}"]]}`))
    );
  });
  if (!denies) {
    problems.push(`${policyId}: does not deny GetSecretValue to every principal but the execution role`);
  }
  return problems;
}

/** The logical id of the key the secret `name` is encrypted with, and the secret's, from the data stack. */
export function keyOfSecret(dataJson: CfnTemplate, name: string = APP_SECRET_NAME): [string, string] {
  const [secretId, secret] = secretNamed(dataJson, name);
  const keyId = referencedId(props(secret).KmsKeyId);
  if (!keyId) throw new Error(`the secret ${name} has no customer-managed key`);
  return [keyId, secretId];
}

/**
 * Actions on the audit archive bucket that remove a record or weaken its lock. Kept here, apart from
 * the list the stack denies (lib/audit-archive.ts), so that shortening that list fails a test.
 */
export const ARCHIVE_DESTRUCTIVE = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:DeleteBucket',
  's3:PutLifecycleConfiguration',
  's3:PutBucketObjectLockConfiguration',
  's3:BypassGovernanceRetention',
  's3:PutObjectRetention',
];
/**
 * What no role of the app or the pipeline may do on the bucket: the destructive actions, and
 * rewriting or removing the bucket policy that denies them (operators keep that right; roles don't).
 */
export const ARCHIVE_FORBIDDEN = [...ARCHIVE_DESTRUCTIVE, 's3:PutBucketPolicy', 's3:DeleteBucketPolicy'];
/** What no role may do on the archive's key: without it the locked objects cannot be read. */
export const ARCHIVE_KEY_FORBIDDEN = [
  'kms:ScheduleKeyDeletion',
  'kms:DisableKey',
  'kms:PutKeyPolicy',
  'kms:CreateGrant',
];

/** The audit archive: the one Object Lock bucket of the data stack, and the key it is encrypted with. */
export function archiveIds(dataJson: CfnTemplate): { bucketId: string; keyId: string } {
  const buckets = resourcesOfType(dataJson, 'AWS::S3::Bucket').filter(([, r]) => props(r).ObjectLockEnabled);
  if (buckets.length !== 1) throw new Error(`expected one Object Lock bucket, found ${buckets.length}`);
  const [bucketId, bucket] = buckets[0] as [string, CfnResource];
  const encryption = props(bucket).BucketEncryption as
    | {
        ServerSideEncryptionConfiguration?: Array<{
          ServerSideEncryptionByDefault?: Record<string, unknown>;
        }>;
      }
    | undefined;
  const keyId = referencedId(
    encryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID,
  );
  if (!keyId) throw new Error('the archive bucket names no customer-managed key of the data stack');
  return { bucketId, keyId };
}

/** Whether `value` holds a `Ref` or `Fn::GetAtt` of `id` anywhere inside it. */
function mentions(value: unknown, id: string): boolean {
  if (Array.isArray(value)) return value.some((v) => mentions(v, id));
  if (!isRecord(value)) return false;
  if (referencedId(value) === id) return true;
  return Object.values(value).some((v) => mentions(v, id));
}

/**
 * Whether a statement's resource may cover the data stack resource `id`: `*`, a reference to it
 * (directly, or through `Fn::ImportValue` of the data stack's export), or, for the bucket (whose name
 * CloudFormation generates), any S3 ARN whose bucket part holds a wildcard.
 */
export function mayReach(resource: unknown, id: string, dataJson: CfnTemplate, s3Arn: boolean): boolean {
  if (resource === '*') return true;
  if (mentions(resource, id) || importedIds(resource, dataJson).includes(id)) return true;
  const text = typeof resource === 'string' ? resource : JSON.stringify(resource);
  return s3Arn && /:s3:::[^/"]*[*?]/.test(text);
}

/** Problems with one statement: each forbidden action it allows on the archive bucket or its key. */
export function archiveStatementViolations(
  s: AttachedStatement,
  ids: { bucketId: string; keyId: string },
  dataJson: CfnTemplate,
): string[] {
  if (s.effect !== 'Allow') return [];
  const who = s.attachedTo.join(', ') || 'nothing attached';
  const problems: string[] = [];
  if (s.resources.some((r) => mayReach(r, ids.bucketId, dataJson, true))) {
    for (const action of ARCHIVE_FORBIDDEN) {
      if (allows(s, action)) problems.push(`${s.source} (${who}): allows ${action} on the archive bucket`);
    }
  }
  if (s.resources.some((r) => mayReach(r, ids.keyId, dataJson, false))) {
    for (const action of ARCHIVE_KEY_FORBIDDEN) {
      if (allows(s, action)) problems.push(`${s.source} (${who}): allows ${action} on the archive key`);
    }
  }
  return problems;
}

/**
 * Every statement of every role and policy in both stacks (the task role, the execution role, the
 * archiver's role, and anything else) checked against ARCHIVE_FORBIDDEN on the archive bucket and
 * ARCHIVE_KEY_FORBIDDEN on its key, wildcards (`s3:*`, `s3:Delete*`, `*`) and NotAction expanded.
 * A role with managed policies counts as a problem: what they allow is not in the template.
 */
export function archiveDeleteViolations(serviceJson: CfnTemplate, dataJson: CfnTemplate): string[] {
  const ids = archiveIds(dataJson);
  const problems: string[] = [];
  const all = [...identityStatements(serviceJson, 'service'), ...identityStatements(dataJson, 'data')];
  for (const s of all) problems.push(...archiveStatementViolations(s, ids, dataJson));
  for (const [name, template] of [
    ['service', serviceJson],
    ['data', dataJson],
  ] as const) {
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      if (asArray(props(role).ManagedPolicyArns).length > 0) problems.push(`${name}/${id}: managed policies`);
    }
  }
  return problems;
}
