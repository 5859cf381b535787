import { parseArgs } from 'node:util';

/**
 * What the deployment commands share: their options read strictly (an unknown one, or one missing
 * its value, is a usage error and exit 2), and their report printed before the process exits (1 when
 * it did not go well, or it failed; only the error's message then, which carries no secret).
 */
export async function runCommand<O extends Record<string, { type: 'boolean' | 'string' }>>(
  what: string,
  options: O,
  run: (values: ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values']) => Promise<{
    ok: boolean;
    lines: string[];
  }>,
): Promise<void> {
  let values: ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options, strict: true }));
  } catch (error) {
    const usage = Object.entries(options)
      .map(([name, { type }]) => `--${name}${type === 'string' ? ' VALUE' : ''}`)
      .join(', ');
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nOptions: ${usage}\n`);
    process.exit(2);
  }
  try {
    const report = await run(values);
    process.stdout.write(`${report.lines.join('\n')}\n`, () => process.exit(report.ok ? 0 : 1));
  } catch (error) {
    process.stderr.write(`${what} failed: ${error instanceof Error ? error.message : String(error)}\n`, () =>
      process.exit(1),
    );
  }
}
