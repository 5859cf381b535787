import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildDeputy, type DeputyOptions } from '../lib/deputy';

/** The parts of a CloudFormation template the tests read. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Condition?: string;
  DependsOn?: string | string[];
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
  Parameters?: Record<string, { Type: string; Default?: string; AllowedPattern?: string }>;
}

export interface Synthesized {
  built: ReturnType<typeof buildDeputy>;
  data: Template;
  service: Template;
  dataJson: CfnTemplate;
  serviceJson: CfnTemplate;
}

/**
 * Builds the app as `npm run synth` does, into a temporary directory. The built-in CloudFormation
 * validation is off here for speed; synth.test.ts runs it on the real entry point.
 */
export function synthesize(
  options: DeputyOptions = {},
  mutate?: (built: ReturnType<typeof buildDeputy>) => void,
): Synthesized {
  const built = buildDeputy({
    outdir: mkdtempSync(join(tmpdir(), 'deputy-infra-')),
    builtinCloudFormationValidation: false,
    ...options,
  });
  mutate?.(built);
  const data = Template.fromStack(built.data);
  const service = Template.fromStack(built.service);
  return {
    built,
    data,
    service,
    dataJson: data.toJSON() as CfnTemplate,
    serviceJson: service.toJSON() as CfnTemplate,
  };
}

export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

export function onlyResource(template: CfnTemplate, type: string): [string, CfnResource] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

/** The secrets' names with the default table prefix (`<base>/app` and `<base>/audit-webhook`). */
export const APP_SECRET_NAME = 'deputy/app';
export const AUDIT_WEBHOOK_SECRET_NAME = 'deputy/audit-webhook';

/** The one AWS::SecretsManager::Secret of a template with this name. */
export function secretNamed(template: CfnTemplate, name: string): [string, CfnResource] {
  const found = resourcesOfType(template, 'AWS::SecretsManager::Secret').filter(
    ([, r]) => props(r).Name === name,
  );
  if (found.length !== 1) throw new Error(`expected one secret named ${name}, found ${found.length}`);
  return found[0] as [string, CfnResource];
}

export function props(resource: CfnResource): Record<string, unknown> {
  return resource.Properties ?? {};
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The logical id a `{ Ref }` or `{ Fn::GetAtt: [id, attr] }` points at. */
export function referencedId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

/**
 * Every logical id of the data stack that `value` (from the service stack) reaches through
 * `Fn::ImportValue` of one of the data stack's exports.
 */
export function importedIds(value: unknown, data: CfnTemplate): string[] {
  const ids: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    if (!isRecord(v)) return;
    const imported = v['Fn::ImportValue'];
    if (typeof imported === 'string') {
      const output = Object.values(data.Outputs ?? {}).find((o) => o.Export?.Name === imported);
      const id = output ? referencedId(output.Value) : undefined;
      if (id) ids.push(id);
    }
    for (const child of Object.values(v)) visit(child);
  };
  visit(value);
  return ids;
}

/** The container definition of the one task definition in the service stack. */
export function container(serviceJson: CfnTemplate): Record<string, unknown> {
  const [, task] = onlyResource(serviceJson, 'AWS::ECS::TaskDefinition');
  const definitions = asArray(props(task).ContainerDefinitions);
  if (definitions.length !== 1 || !isRecord(definitions[0])) throw new Error('expected one container');
  return definitions[0];
}

/** `[{ Name, Value }]` lists (container environment, secrets) as a map. */
export function nameValueMap(list: unknown, valueKey: 'Value' | 'ValueFrom'): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const entry of asArray(list)) {
    if (isRecord(entry) && typeof entry.Name === 'string') map.set(entry.Name, entry[valueKey]);
  }
  return map;
}
