import { type Config, ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startRuntime } from './runtime.js';

/**
 * `npm start`: the sandbox without credentials, the configured workspace with them.
 * `npm run start:socket` (or `--socket-mode`): the configured workspace over Socket Mode.
 */
async function main(): Promise<void> {
  const socketMode = process.argv.includes('--socket-mode');
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  const runtime = await startRuntime(config, logger, { socketMode });
  const { deputy, sandbox, workspaceUrl } = runtime;
  const storage =
    config.storage.kind === 'embedded'
      ? `embedded DynamoDB under ${config.storage.dataDir}/sandbox, fresh each run`
      : 'the configured DynamoDB';
  const banner = sandbox
    ? [
        '',
        'Deputy is running in SANDBOX mode: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY are not set,',
        `so Slack, the Managed Agents API and three OAuth/MCP providers (${Object.values(sandbox.providers)
          .map((p) => p.name)
          .join(', ')})`,
        `are emulated on this machine, with ${storage}.`,
        '',
        `  Open the workspace: ${workspaceUrl}`,
        '',
        'Pick a person there and type /agent help. Set the three variables above to run against a real workspace.',
        '',
      ]
    : [
        `Deputy is running in LIVE mode on port ${config.port}: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY are set,`,
        `so it serves the configured Slack workspace and the Anthropic API (public URL ${config.publicBaseUrl}).`,
      ];
  process.stdout.write(`${banner.join('\n')}\n`);
  logger.debug('started', { mode: config.mode, url: deputy.url });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`received ${signal}, shutting down`);
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  // A start-up failure prints its cause in one line; no stack trace.
  process.stderr.write(`Deputy could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
