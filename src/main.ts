import { configOrExit, exitWith, reportStartFailure, stopOnSignals } from './entry.js';
import { createLogger } from './logger.js';
import { startRuntime } from './runtime.js';

/**
 * The product's entry point, and the production image's command: Deputy against the configured
 * Slack workspace and the Anthropic API. `--socket-mode` (`npm run start:socket`) takes Slack's
 * deliveries over Socket Mode instead of HTTP. Without credentials it refuses to start: the sandbox
 * is not part of the product (`npm start` in a checkout runs it, from sandbox/).
 */
async function main(): Promise<void> {
  const config = configOrExit();
  if (config.mode !== 'live') {
    exitWith(
      'Deputy needs SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY. ' +
        'To try it without them, run `npm start` in a checkout: that starts the sandbox.',
    );
  }
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  const runtime = await startRuntime(config, logger, { socketMode: process.argv.includes('--socket-mode') });
  process.stdout.write(
    `Deputy is running in LIVE mode on port ${config.port}: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and ANTHROPIC_API_KEY are set,\n` +
      `so it serves the configured Slack workspace and the Anthropic API (public URL ${config.publicBaseUrl}).\n`,
  );
  stopOnSignals(runtime, logger);
}

main().catch(reportStartFailure);
