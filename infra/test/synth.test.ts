import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { FEATURE_FLAGS } from '../lib/deputy';

const infra = join(__dirname, '..');

test('`npm run synth` entry: offline, without AWS credentials or lookups, both templates validated clean', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'deputy-synth-'));
  const home = mkdtempSync(join(tmpdir(), 'deputy-home-'));
  // No AWS configuration at all: no variables, no ~/.aws, no instance metadata.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')),
  );
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(infra, 'bin', 'deputy.ts')], {
    cwd: infra,
    env: { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', CDK_OUTDIR: outdir },
    encoding: 'utf8',
  });
  for (const stack of ['DeputyData', 'DeputyService']) {
    const file = join(outdir, `${stack}.template.json`);
    assert.ok(existsSync(file), `${stack} template written`);
    assert.ok(stdout.includes(`${stack}.template.json`), 'prints where the template went');
    JSON.parse(readFileSync(file, 'utf8'));
  }
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { missing?: unknown[] };
  assert.equal(manifest.missing, undefined, 'no context lookups are needed');
  // The built-in CloudFormation template validation (schemas and rules) ran and found nothing.
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{ pluginName: string; violations: unknown[] }>;
  };
  for (const plugin of report.pluginReports) assert.deepEqual(plugin.violations, [], plugin.pluginName);
});

test('the built-in template validation is on and a finding fails synth (so the run above is a real check)', () => {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'deputy-invalid-')),
    context: { ...FEATURE_FLAGS },
  });
  const stack = new Stack(app, 'Invalid');
  new CfnResource(stack, 'Table', {
    type: 'AWS::DynamoDB::Table',
    properties: {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'FREE',
    },
  });
  // Synth prints its validation report to stderr; this finding is the expected one.
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof write;
  try {
    assert.throws(() => app.synth(), /validation/i);
  } finally {
    process.stderr.write = write;
  }
});
