import { BlockList, isIP } from 'node:net';

/**
 * Addresses Deputy must never reach on a provider's or an admin's say-so (SSRF, R22): loopback,
 * private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254), unspecified, multicast,
 * reserved and documentation ranges. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is matched against the
 * IPv4 rules by BlockList itself; NAT64 forms are unpacked below.
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address a well-known-prefix NAT64 address (64:ff9b::/96) translates to. */
function nat64Target(address: string): string | undefined {
  const match = /^64:ff9b::(?:([0-9a-f]{1,4}):([0-9a-f]{1,4})|(\d+\.\d+\.\d+\.\d+))$/i.exec(address);
  if (!match) return undefined;
  if (match[3]) return match[3];
  const high = Number.parseInt(match[1] ?? '0', 16);
  const low = Number.parseInt(match[2] ?? '0', 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** True when `address` is an IP literal on the public internet; false for anything else. */
export function isPublicAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const version = isIP(bare);
  if (version === 0) return false;
  if (NON_PUBLIC.check(bare, version === 4 ? 'ipv4' : 'ipv6')) return false;
  const translated = version === 6 ? nat64Target(bare) : undefined;
  return translated === undefined || isPublicAddress(translated);
}
