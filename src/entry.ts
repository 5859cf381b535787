import { type Config, ConfigError, loadConfig } from './config.js';
import type { Logger } from './logger.js';

/** What every entry point (the product's, the sandbox's) does around its runtime. */

/** The validated configuration, or the process ends with one message naming every bad variable. */
export function configOrExit(environment: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) exitWith(error.message);
    throw error;
  }
}

/** SIGINT and SIGTERM close the runtime (drain, release leases, close storage), then end the process. */
export function stopOnSignals(runtime: { close(): Promise<void> }, logger: Logger): void {
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

/** A start-up failure prints its cause in one line; no stack trace. */
export function reportStartFailure(error: unknown): never {
  exitWith(`Deputy could not start: ${error instanceof Error ? error.message : String(error)}`);
}

export function exitWith(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
