// Proxy selection per target URL and NO_PROXY matching (curl/Go semantics).
import { describe, expect, test } from 'bun:test';
import { bypassesProxy, fetchProxyOption, selectProxy } from '../../src/upstream/proxy';

describe('NO_PROXY matching', () => {
  test.each([
    ['*', 'https://q.us-east-1.amazonaws.com', true],
    ['', 'https://q.us-east-1.amazonaws.com', false],
    ['q.us-east-1.amazonaws.com', 'https://q.us-east-1.amazonaws.com', true],
    ['Q.US-EAST-1.AMAZONAWS.COM', 'https://q.us-east-1.amazonaws.com/x', true],
    ['amazonaws.com', 'https://q.us-east-1.amazonaws.com', true], // plain domain covers subdomains
    ['amazonaws.com', 'https://amazonaws.com', true],
    ['amazonaws.com', 'https://notamazonaws.com', false],
    ['.amazonaws.com', 'https://q.us-east-1.amazonaws.com', true],
    ['.amazonaws.com', 'https://amazonaws.com', false], // leading dot: subdomains only
    ['*.amazonaws.com', 'https://oidc.us-east-1.amazonaws.com', true],
    ['localhost,127.0.0.1', 'http://127.0.0.1:8080/', true],
    ['localhost, 127.0.0.1', 'http://localhost:8080/', true],
    ['localhost 127.0.0.1', 'http://localhost/', true],
    ['127.0.0.1:8080', 'http://127.0.0.1:8080/', true],
    ['127.0.0.1:8080', 'http://127.0.0.1:9090/', false],
    ['example.com:443', 'https://example.com/', true], // default port of the scheme
    ['example.com:443', 'http://example.com/', false],
    ['10.0.0.0/8', 'http://10.1.2.3:3000/', true],
    ['10.0.0.0/8', 'http://11.1.2.3/', false],
    ['192.168.1.0/24', 'http://192.168.1.77/', true],
    ['::1', 'http://[::1]:8080/', true],
    ['[::1]:8080', 'http://[::1]:8080/', true],
    ['[::1]:8080', 'http://[::1]:9/', false],
    ['other.com', 'https://q.us-east-1.amazonaws.com', false],
    ['example.com', 'https://example.com./', true],
  ] as const)('NO_PROXY=%p, %s → bypass %p', (noProxy, url, expected) => {
    expect(bypassesProxy(new URL(url), noProxy)).toBe(expected);
  });
});

describe('selectProxy', () => {
  const cfg = { httpProxy: 'http://proxy:3128', httpsProxy: 'http://sproxy:3128', noProxy: 'localhost,.internal' };
  test('by scheme', () => {
    expect(selectProxy('https://q.us-east-1.amazonaws.com/', cfg)).toBe('http://sproxy:3128');
    expect(selectProxy('http://q.example/', cfg)).toBe('http://proxy:3128');
  });
  test('no https fallback to the http proxy (curl/Go)', () => {
    expect(selectProxy('https://q.example/', { httpProxy: 'http://proxy:3128' })).toBeUndefined();
  });
  test('NO_PROXY wins', () => {
    expect(selectProxy('http://localhost:1/', cfg)).toBeUndefined();
    expect(selectProxy('https://auth.internal/', cfg)).toBeUndefined();
  });
  test('no config → direct', () => {
    expect(selectProxy('https://q.example/', undefined)).toBeUndefined();
  });
  test('fetch option is always explicit', () => {
    expect(fetchProxyOption('https://q.example/', undefined)).toBe(false);
    expect(fetchProxyOption('https://q.example/', cfg)).toEqual({ url: 'http://sproxy:3128', respectNoProxy: false });
    expect(fetchProxyOption('http://localhost/', cfg)).toBe(false);
  });
});
