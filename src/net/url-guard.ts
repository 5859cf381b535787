import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from './address-policy.js';

export type UnsafeUrlReason = 'not_https' | 'private_address' | 'unresolvable' | 'invalid_url';

const REASON_TEXT: Record<UnsafeUrlReason, string> = {
  not_https: 'only https URLs may be used',
  private_address: 'the host is a loopback, private, link-local or otherwise non-public address',
  unresolvable: 'the host name does not resolve',
  invalid_url: 'the URL is malformed or carries credentials',
};

/** A URL Deputy refuses to reach. The message names the reason and at most the host, never a path or query. */
export class UnsafeUrlError extends Error {
  override readonly name = 'UnsafeUrlError';
  constructor(
    readonly reason: UnsafeUrlReason,
    host?: string,
  ) {
    super(`Refused URL${host ? ` for host ${host}` : ''}: ${REASON_TEXT[reason]} (${reason})`);
  }
}

/** Resolves a host name to every address it has (injected in tests to play a hostile DNS). */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolveHost: ResolveHost = (hostname) =>
  lookup(hostname, { all: true, order: 'verbatim' });

/** The host without IPv6 brackets, as DNS and `isIP` expect it. */
export function bareHostname(url: URL): string {
  const { hostname } = url;
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * The checks that need no DNS: a parseable http(s) URL without userinfo, https (plain http only to a
 * local host, where private networks are allowed), and an IP-literal host that is public. Node connects to IP literals
 * without calling `lookup`, so this is also what guards them on every request and redirect hop.
 */
export function checkUrlShape(url: string | URL, allowPrivateNetwork: boolean): URL {
  const parsed = typeof url === 'string' ? (URL.canParse(url) ? new URL(url) : undefined) : url;
  if (!parsed) throw new UnsafeUrlError('invalid_url');
  if (parsed.username || parsed.password) throw new UnsafeUrlError('invalid_url');
  const host = bareHostname(parsed);
  if (host === '') throw new UnsafeUrlError('invalid_url');
  // Plain http is for the sandbox and tests: only where private networks are allowed, and only to a
  // host that is not on the public internet.
  const httpAllowed = allowPrivateNetwork && parsed.protocol === 'http:' && isLocalHost(host);
  if (parsed.protocol !== 'https:' && !httpAllowed) throw new UnsafeUrlError('not_https', parsed.host);
  if (!allowPrivateNetwork && isIP(host) !== 0 && !isPublicAddress(host)) {
    throw new UnsafeUrlError('private_address', parsed.host);
  }
  return parsed;
}

/** `localhost`, or an IP literal that is not public (loopback, private, link-local…). */
function isLocalHost(host: string): boolean {
  return host === 'localhost' || (isIP(host) !== 0 && !isPublicAddress(host));
}

/** Every address of `hostname`, refusing the host if any of them is non-public (a mixed answer is a trap). */
export async function resolvePublicAddresses(
  resolveHost: ResolveHost,
  hostname: string,
): Promise<readonly LookupAddress[]> {
  let addresses: readonly LookupAddress[];
  try {
    addresses = await resolveHost(hostname);
  } catch {
    throw new UnsafeUrlError('unresolvable', hostname);
  }
  if (addresses.length === 0) throw new UnsafeUrlError('unresolvable', hostname);
  if (addresses.some((a) => !isPublicAddress(a.address)))
    throw new UnsafeUrlError('private_address', hostname);
  return addresses;
}

function wantedFamily(family: number | 'IPv4' | 'IPv6' | undefined): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * A `lookup` for http(s).request that resolves, refuses non-public answers, and hands the socket
 * only the addresses it checked: the address connected to is the address checked, so a DNS
 * rebinding between a pre-flight check and the connection gains nothing. Handles both the
 * single-address and the `all: true` (autoSelectFamily) calling conventions.
 */
export function createGuardedLookup(resolveHost: ResolveHost): LookupFunction {
  return (hostname, options, callback) => {
    resolvePublicAddresses(resolveHost, hostname).then(
      (all) => {
        const family = wantedFamily(options.family);
        const usable = family === 0 ? all : all.filter((a) => a.family === family);
        const first = usable[0];
        if (!first) return callback(new UnsafeUrlError('unresolvable', hostname), '', 0);
        if (options.all) return callback(null, [...usable]);
        callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}
