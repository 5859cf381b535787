import { configOrExit, reportStartFailure, stopOnSignals } from '../src/entry.js';
import { createLogger } from '../src/logger.js';
import { startSandboxRuntime } from './runtime.js';

/**
 * `npm start` without credentials: the emulated Slack, Managed Agents API and OAuth/MCP providers on
 * this machine, Deputy wired to them, and one URL to open in a browser.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  const { sandbox, workspaceUrl, ...runtime } = await startSandboxRuntime(config, logger);
  const storage =
    config.storage.kind === 'embedded'
      ? `embedded DynamoDB under ${config.storage.dataDir}/sandbox, fresh each run`
      : 'the configured DynamoDB';
  const providers = Object.values(sandbox.providers)
    .map((p) => p.name)
    .join(', ');
  process.stdout.write(
    [
      '',
      'Deputy is running in SANDBOX mode: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY are not set,',
      `so Slack, the Managed Agents API and three OAuth/MCP providers (${providers})`,
      `are emulated on this machine, with ${storage}.`,
      '',
      `  Open the workspace: ${workspaceUrl}`,
      '',
      'Pick a person there and type /agent help. Set the three variables above to run against a real workspace.',
      '',
      '',
    ].join('\n'),
  );
  logger.debug('started', { mode: config.mode, url: runtime.deputy.url });
  stopOnSignals(runtime, logger);
}

main().catch(reportStartFailure);
