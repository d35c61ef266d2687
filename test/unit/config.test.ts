import { describe, expect, test } from 'bun:test';
import { ConfigError, decodeKeyMaterial, isLoopbackHost, mergeEnv, parseConfig, parseDotenv } from '../../src/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

describe('parseConfig', () => {
  test('defaults match the Python q2api and the documented new variables', () => {
    const c = parseConfig({});
    expect(c.port).toBe(8000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.databaseUrl).toBe('');
    expect(c.dataDir).toBe('./data');
    expect(c.maxErrorCount).toBe(100);
    expect(c.tokenCountMultiplier).toBe(1.0);
    expect(c.enableConsole).toBe(true);
    expect(c.openaiKeys).toEqual([]);
    expect(c.adminKey).toBeUndefined();
    expect(c.masterKey).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.qEndpoint).toBe('https://q.us-east-1.amazonaws.com');
    expect(c.oidcEndpoint).toBe('https://oidc.us-east-1.amazonaws.com');
    expect(c.kiroAuthEndpoint).toBe('https://prod.us-east-1.auth.desktop.kiro.dev');
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('a bad number names the variable and what it accepts', () => {
    const p = problemsOf({ MAX_ERROR_COUNT: 'abc' });
    expect(p).toHaveLength(1);
    expect(p[0]).toContain('MAX_ERROR_COUNT="abc"');
    expect(p[0]).toContain('whole number');
  });

  test('HISTORY_CACHE_MB: 128 MB by default, 0 turns the memo off, a negative size is refused', () => {
    expect(parseConfig({}).historyCacheBytes).toBe(128 * 1024 * 1024);
    expect(parseConfig({ HISTORY_CACHE_MB: '0' }).historyCacheBytes).toBe(0);
    expect(parseConfig({ HISTORY_CACHE_MB: '512' }).historyCacheBytes).toBe(512 * 1024 * 1024);
    expect(problemsOf({ HISTORY_CACHE_MB: '-1' })[0]).toContain('HISTORY_CACHE_MB="-1"');
  });

  test('every problem is reported at once', () => {
    const p = problemsOf({ PORT: '70000', ENABLE_CONSOLE: 'maybe', LOG_LEVEL: 'loud', TOKEN_COUNT_MULTIPLIER: '-1', Q_ENDPOINT: 'ftp://x' });
    expect(p.map((s) => s.split('=')[0])).toEqual(['TOKEN_COUNT_MULTIPLIER', 'LOG_LEVEL', 'ENABLE_CONSOLE', 'PORT', 'Q_ENDPOINT']);
  });

  test('OPENAI_KEYS is split on commas, trimmed, empties dropped', () => {
    expect(parseConfig({ OPENAI_KEYS: ' a , b,,c ' }).openaiKeys).toEqual(['a', 'b', 'c']);
  });

  test('ENABLE_CONSOLE accepts false and 0', () => {
    expect(parseConfig({ ENABLE_CONSOLE: 'false' }).enableConsole).toBe(false);
    expect(parseConfig({ ENABLE_CONSOLE: '0' }).enableConsole).toBe(false);
    expect(parseConfig({ ENABLE_CONSOLE: 'TRUE' }).enableConsole).toBe(true);
  });

  test('ADMIN_PASSWORD is an alias of ADMIN_KEY, and a short key is refused', () => {
    expect(parseConfig({ ADMIN_PASSWORD: 'a-long-enough-key' }).adminKey).toBe('a-long-enough-key');
    expect(parseConfig({ ADMIN_KEY: 'the-primary-key-1', ADMIN_PASSWORD: 'ignored-alias-xx' }).adminKey).toBe('the-primary-key-1');
    expect(problemsOf({ ADMIN_PASSWORD: 'admin' })[0]).toContain('ADMIN_PASSWORD');
  });

  test('MASTER_KEY must be at least 32 bytes of hex or base64', () => {
    const hex = 'ab'.repeat(32);
    expect(parseConfig({ MASTER_KEY: hex }).masterKey?.length).toBe(32);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(parseConfig({ MASTER_KEY: b64 }).masterKey).toEqual(new Uint8Array(32).fill(7));
    expect(problemsOf({ MASTER_KEY: 'ab'.repeat(16) })[0]).toContain('MASTER_KEY');
    expect(problemsOf({ MASTER_KEY: 'not a key!' })[0]).toContain('MASTER_KEY');
  });

  test('DATABASE_URL accepts sqlite, postgres and mysql, and hides the password when refusing', () => {
    expect(parseConfig({ DATABASE_URL: 'sqlite:/tmp/x.db' }).databaseUrl).toBe('sqlite:/tmp/x.db');
    expect(parseConfig({ DATABASE_URL: 'postgresql://u:p@h/db' }).databaseUrl).toBe('postgresql://u:p@h/db');
    const p = problemsOf({ DATABASE_URL: 'oracle://scott:tiger@h/db' });
    expect(p[0]).toContain('DATABASE_URL');
    expect(p[0]).not.toContain('tiger');
  });

  test('proxy variables, upper or lower case', () => {
    const c = parseConfig({ http_proxy: 'http://127.0.0.1:7890', NO_PROXY: 'localhost,.internal' });
    expect(c.proxy).toEqual({ httpProxy: 'http://127.0.0.1:7890', httpsProxy: undefined, noProxy: 'localhost,.internal' });
  });

  test('endpoints lose a trailing slash', () => {
    expect(parseConfig({ Q_ENDPOINT: 'http://127.0.0.1:9999/' }).qEndpoint).toBe('http://127.0.0.1:9999');
  });
});

describe('dotenv', () => {
  test('parses comments, quotes, export prefixes; process env wins', () => {
    const d = parseDotenv('# c\nexport PORT=9000\nADMIN_KEY="with space # not comment"\nX=1 # trailing\nBAD LINE\nE=');
    expect(d).toEqual({ PORT: '9000', ADMIN_KEY: 'with space # not comment', X: '1', E: '' });
    expect(mergeEnv({ PORT: '7000' }, d).PORT).toBe('7000');
  });
});

test('decodeKeyMaterial and isLoopbackHost', () => {
  expect(decodeKeyMaterial('00ff')).toEqual(new Uint8Array([0, 255]));
  expect(decodeKeyMaterial('%%%')).toBeUndefined();
  expect(isLoopbackHost('127.0.0.1')).toBe(true);
  expect(isLoopbackHost('localhost')).toBe(true);
  expect(isLoopbackHost('0.0.0.0')).toBe(false);
});

test('MODEL_MAP as JSON or pairs; bad maps are refused', () => {
  expect(parseConfig({ MODEL_MAP: '{"GPT-4o":"claude-sonnet-4.5"}' }).modelMap).toEqual({ 'gpt-4o': 'claude-sonnet-4.5' });
  expect(parseConfig({ MODEL_MAP: 'a=b, c = d' }).modelMap).toEqual({ a: 'b', c: 'd' });
  expect(() => parseConfig({ MODEL_MAP: 'a=b=c' })).toThrow('MODEL_MAP');
  expect(() => parseConfig({ MODEL_MAP: '{"a":1}' })).toThrow('MODEL_MAP');
  expect(parseConfig({}).defaultModel).toBe('claude-sonnet-4.5');
  expect(parseConfig({}).maxAttempts).toBe(3);
});
