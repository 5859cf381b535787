/**
 * A URL in the form used to compare resource and issuer identifiers: scheme and host lower-case
 * and the default port dropped (WHATWG URL parsing does both), no fragment, and no trailing
 * slash on the path, so `https://MCP.example.com:443/mcp/` equals `https://mcp.example.com/mcp`.
 * Undefined when `value` is not an absolute URL.
 */
export function normaliseResourceUrl(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

export function sameResource(a: string, b: string): boolean {
  const left = normaliseResourceUrl(a);
  return left !== undefined && left === normaliseResourceUrl(b);
}
