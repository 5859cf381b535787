import { join, relative } from 'node:path';
import { buildDeputy } from '../lib/deputy';

// `npm run synth` runs this file directly: no AWS credentials, no context lookups, no Docker. It
// writes the cloud assembly to infra/cdk.out (or $CDK_OUTDIR). `npx cdk deploy` runs it too, with
// its own CDK_OUTDIR.
const outdir = process.env.CDK_OUTDIR ?? join(__dirname, '..', 'cdk.out');
const started = Date.now();
const { app, data, service } = buildDeputy({ outdir });
const assembly = app.synth();
if (!process.env.CDK_CLI_VERSION) {
  const where = relative(process.cwd(), assembly.directory) || '.';
  const validated = process.env.CDK_VALIDATION === 'false' ? 'not validated' : 'templates validated';
  console.log(`Synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s (${validated}):`);
  for (const stack of [data, service])
    console.log(`  ${stack.stackName}: ${join(where, stack.templateFile)}`);
}
