import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { LogLevelName } from './config.js';
import { redact } from './redact.js';

/**
 * One JSON object per line, with secrets redacted before anything is written. It also serves as
 * Bolt's logger, so Bolt's own messages pass through the same redaction.
 */
export interface Logger extends SlackLogger {
  /** A logger whose lines all carry `fields` (for example a correlation id). */
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevelName;
  /** Exact secret values (from configuration) to redact wherever they appear. */
  secrets?: readonly string[];
  /** Where lines go; stdout by default. Tests pass a collector. */
  write?: (line: string) => void;
  name?: string;
  fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const shared = {
    level: options.level,
    secrets: [...(options.secrets ?? [])].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length),
    write: options.write ?? ((line: string) => process.stdout.write(`${line}\n`)),
  };
  return new JsonLogger(shared, options.name, options.fields ?? {});
}

interface SharedState {
  level: LogLevelName;
  secrets: string[];
  write: (line: string) => void;
}

class JsonLogger implements Logger {
  constructor(
    private readonly shared: SharedState,
    private name: string | undefined,
    private readonly fields: Record<string, unknown>,
  ) {}

  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.shared, this.name, { ...this.fields, ...fields });
  }

  debug(...parts: unknown[]): void {
    this.log('debug', parts);
  }
  info(...parts: unknown[]): void {
    this.log('info', parts);
  }
  warn(...parts: unknown[]): void {
    this.log('warn', parts);
  }
  error(...parts: unknown[]): void {
    this.log('error', parts);
  }

  setLevel(level: LogLevel): void {
    this.shared.level = level as LogLevelName;
  }
  getLevel(): LogLevel {
    return this.shared.level as LogLevel;
  }
  setName(name: string): void {
    this.name = name;
  }

  private log(level: LogLevelName, parts: unknown[]): void {
    if (ORDER[level] < ORDER[this.shared.level]) return;
    const last = parts.at(-1);
    const hasFields = parts.length > 1 && isPlainObject(last);
    const messageParts = hasFields ? parts.slice(0, -1) : parts;
    const entry: Record<string, unknown> = {
      level,
      time: new Date().toISOString(),
      ...(this.name ? { logger: this.name } : {}),
      msg: messageParts.map((p) => (typeof p === 'string' ? p : describe(p))).join(' '),
      ...this.fields,
      ...(hasFields ? (last as Record<string, unknown>) : {}),
    };
    this.shared.write(JSON.stringify(redact(entry, this.shared.secrets)));
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Errors become their name and message only: stacks stay out of logs users might be shown. */
function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export { LogLevel };
