/**
 * Secret-shaped values taken out of anything shown or written: log lines, and tool-call arguments in
 * approval messages. Field names, token shapes, and exact known secrets.
 */

export const REDACTED = '[redacted]';

/** Field names whose values are never logged, whatever they hold. */
const SECRET_KEY =
  /authorization|token|secret|password|passphrase|api[-_]?key|code[-_]?verifier|^code$|cookie|signature|client[-_]?assertion/i;

/** Shapes of credentials that must not survive into a log line even inside free text. */
const SECRET_PATTERNS: Array<[RegExp, (match: string, ...groups: string[]) => string]> = [
  [/xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+/g, () => REDACTED], // Slack bot, user, refresh and config tokens
  [/xapp-[A-Za-z0-9-]+/g, () => REDACTED], // Slack app-level tokens
  [/sk-ant-[A-Za-z0-9_-]+/g, () => REDACTED], // Anthropic API keys
  [/whsec_[A-Za-z0-9+/=]+/g, () => REDACTED], // webhook signing keys
  [/\b(?:ntn|secret)_[A-Za-z0-9]+/g, () => REDACTED], // Notion integration tokens
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, () => REDACTED], // GitHub tokens
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, () => REDACTED], // JWTs
  // OAuth fields in query strings, forms, JSON and `key: value` text.
  [
    /(["']?)\b((?:access|refresh|id)_token|client_secret|code_verifier|code|token|password)\1(\s*[:=]\s*)(["']?)[^"'&\s,}]+\4/g,
    (_m, quote, name, separator, valueQuote) =>
      `${quote}${name}${quote}${separator}${valueQuote}${REDACTED}${valueQuote}`,
  ],
];

/** `value` with secrets replaced by [redacted]: by field name, by shape, and the exact `secrets` given. */
export function redact(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  // Deeper than this is not looked into, so it is not shown either.
  if (depth > 8) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && v !== null && v !== undefined ? REDACTED : redact(v, secrets, depth + 1);
  }
  return out;
}

export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  for (const [pattern, replace] of SECRET_PATTERNS) {
    out = out.replace(pattern, replace as (match: string, ...groups: string[]) => string);
  }
  return out;
}
