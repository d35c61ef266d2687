// Outbound proxy selection per target URL with curl/Go-style NO_PROXY matching. Pure; the
// callers pass the result to Bun's fetch `proxy` option so the environment is never consulted twice.

export interface ProxyConfig {
  /** proxy for http:// targets (HTTP_PROXY) */
  httpProxy?: string;
  /** proxy for https:// targets (HTTPS_PROXY); deliberately no fallback to httpProxy, as in curl and Go */
  httpsProxy?: string;
  /** NO_PROXY list: comma/space separated; `*`, exact host, `.suffix`, `*.suffix`, host:port, IPv4 CIDR */
  noProxy?: string;
}

/** The value for Bun's fetch `proxy` option: a proxy object, or `false` for a direct connection. */
export type FetchProxy = false | { url: string; respectNoProxy: false };

export interface NoProxyRule {
  host: string; // lower-case, no brackets, no leading dot; '' for the wildcard
  port?: string;
  /** true when the rule only matches strict subdomains (leading `.` or `*.`) */
  subdomainsOnly: boolean;
  cidr?: { base: number; bits: number };
  wildcard: boolean;
}

export function parseNoProxy(noProxy: string | undefined): NoProxyRule[] {
  if (noProxy === undefined) return [];
  const rules: NoProxyRule[] = [];
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') {
      rules.push({ host: '', subdomainsOnly: false, wildcard: true });
      continue;
    }
    const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(entry);
    if (cidr) {
      const base = ipv4ToInt(cidr[1] as string);
      const bits = Number(cidr[2]);
      if (base !== undefined && bits <= 32) rules.push({ host: '', subdomainsOnly: false, wildcard: false, cidr: { base, bits } });
      continue;
    }
    let port: string | undefined;
    // host:port, [v6]:port, or a bare IPv6 literal (which has several colons and no port)
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1] as string;
      port = bracketed[2];
    } else {
      const m = /^([^:]+):(\d+)$/.exec(entry);
      if (m) {
        entry = m[1] as string;
        port = m[2];
      }
    }
    let subdomainsOnly = false;
    if (entry.startsWith('*.')) {
      entry = entry.slice(2);
      subdomainsOnly = true;
    } else if (entry.startsWith('.')) {
      entry = entry.slice(1);
      subdomainsOnly = true;
    }
    const rule: NoProxyRule = { host: entry, subdomainsOnly, wildcard: false };
    if (port !== undefined) rule.port = port;
    rules.push(rule);
  }
  return rules;
}

/** True when `url` must be fetched directly according to NO_PROXY. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  const rules = parseNoProxy(noProxy);
  if (rules.length === 0) return false;
  let host = url.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1); // FQDN form "example.com." names the same host
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  const ip = ipv4ToInt(host);
  for (const r of rules) {
    if (r.wildcard) return true;
    if (r.cidr) {
      if (ip !== undefined && inCidr(ip, r.cidr.base, r.cidr.bits)) return true;
      continue;
    }
    if (r.port !== undefined && r.port !== port) continue;
    if (host === r.host && !r.subdomainsOnly) return true;
    // A plain "example.com" also covers its subdomains (curl ≥ 7.86 and Go agree on this).
    if (host.endsWith(`.${r.host}`)) return true;
  }
  return false;
}

/** The proxy to use for `target`, or undefined for a direct connection. */
export function selectProxy(target: string | URL, config: ProxyConfig | undefined): string | undefined {
  if (config === undefined) return undefined;
  const url = typeof target === 'string' ? new URL(target) : target;
  const proxy = url.protocol === 'https:' ? config.httpsProxy : url.protocol === 'http:' ? config.httpProxy : undefined;
  if (proxy === undefined || proxy === '') return undefined;
  if (bypassesProxy(url, config.noProxy)) return undefined;
  return proxy;
}

/**
 * Bun's fetch `proxy` option for `target`. Always explicit: `false` stops Bun from applying
 * HTTP(S)_PROXY from the environment behind our back, and `respectNoProxy: false` stops it from
 * applying the environment's NO_PROXY on top of ours — configuration has exactly one source.
 */
export function fetchProxyOption(target: string | URL, config: ProxyConfig | undefined): FetchProxy {
  const proxy = selectProxy(target, config);
  return proxy === undefined ? false : { url: proxy, respectNoProxy: false };
}

function ipv4ToInt(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function inCidr(ip: number, base: number, bits: number): boolean {
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(ip / size) === Math.floor(base / size);
}
