// Keeps image-URL downloads off the gateway's own network: a client must not be able to make q2api
// fetch loopback, private, link-local (cloud metadata at 169.254.169.254) or other internal addresses
// and ship the bytes to the model. IMAGE_FETCH_ALLOW_PRIVATE=true lifts it for trusted setups.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

function v4Parts(ip: string): number[] | undefined {
  const parts = ip.split('.').map(Number);
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 255) ? parts : undefined;
}

/** True for addresses that are not on the public internet (RFC 1918, 6598, 3927, 4193, 4291 …). */
export function isPrivateAddress(ip: string): boolean {
  const addr = ip.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = v4Parts(addr);
  if (v4) {
    const [a, b] = v4 as [number, number, number, number];
    return (
      a === 0 || // "this network"
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
      (a === 169 && b === 254) || // link-local, cloud metadata
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 192 && b === 0) || // IETF protocol assignments
      (a === 198 && (b === 18 || b === 19)) || // benchmarking
      a >= 224 // multicast and reserved
    );
  }
  if (isIP(addr) !== 6) return true; // not an address we understand: refuse
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (mapped) return isPrivateAddress(mapped[1]!);
  if (addr === '::' || addr === '::1') return true;
  const first = parseInt(addr.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    /^64:ff9b:/.test(addr) || // NAT64 can reach anything
    /^2002:/.test(addr) // 6to4 embeds an IPv4 address
  );
}

/** Why `url` must not be fetched, or undefined when its host resolves only to public addresses. */
export async function privateTargetReason(url: URL): Promise<string | undefined> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return `the host ${host} does not resolve`;
    }
  }
  const internal = addresses.find(isPrivateAddress);
  return internal === undefined
    ? undefined
    : `${host} is an internal address (${internal}); set IMAGE_FETCH_ALLOW_PRIVATE=true to allow internal image URLs`;
}
