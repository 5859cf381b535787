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
  const { deputy, sandbox } = runtime;
  if (sandbox) {
    process.stdout.write(
      [
        '',
        `Deputy is running in SANDBOX mode at ${deputy.url}: no Slack or Anthropic credentials were given,`,
        'so Slack, the Managed Agents API and three OAuth/MCP providers are emulated on this machine:',
        `  Slack Web API      ${sandbox.slack.apiUrl}`,
        `  Managed Agents API ${sandbox.managedAgents.url}`,
        `  Providers          ${Object.values(sandbox.providers)
          .map((p) => `${p.name} ${p.url}`)
          .join(', ')}`,
        `  Storage            embedded DynamoDB (dynalite) under ${config.storage.kind === 'embedded' ? `${config.storage.dataDir}/sandbox` : '?'}, fresh each run`,
        'Set SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY to run against a real workspace.',
        '',
      ].join('\n'),
    );
  } else {
    logger.info(`Deputy is running against the configured Slack workspace and Anthropic API (${deputy.url})`);
  }
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
