// master.key / admin.key: generated owner-only when not configured, reused afterwards.
import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAdminKey, resolveMasterKey } from '../../src/store';

const dirs: string[] = [];
function tempDataDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'q2api-keys-'));
  dirs.push(base);
  return join(base, 'nested', 'data'); // missing on purpose: resolve* must create it
}
const mode = (path: string) => statSync(path).mode & 0o777;

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('resolveMasterKey', () => {
  test('generates master.key (32 bytes hex, 0600, dir 0700) and reuses it', async () => {
    const dataDir = tempDataDir();
    const first = await resolveMasterKey({ dataDir });
    expect(first.generated).toBe(true);
    expect(first.path).toBe(join(dataDir, 'master.key'));
    expect(first.key).toHaveLength(32);
    expect(mode(first.path!)).toBe(0o600);
    expect(mode(dataDir)).toBe(0o700);
    expect(readFileSync(first.path!, 'utf8').trim()).toBe(Buffer.from(first.key).toString('hex'));
    const second = await resolveMasterKey({ dataDir });
    expect(second).toEqual({ key: first.key, generated: false, path: first.path });
  });

  test('uses MASTER_KEY when configured and writes no file', async () => {
    const dataDir = tempDataDir();
    const key = new Uint8Array(32).fill(9);
    expect(await resolveMasterKey({ masterKey: key, dataDir })).toEqual({ key, generated: false });
    expect(() => statSync(dataDir)).toThrow();
  });

  test('concurrent callers agree on one key', async () => {
    const dataDir = tempDataDir();
    const results = await Promise.all(Array.from({ length: 5 }, () => resolveMasterKey({ dataDir })));
    expect(results.filter((r) => r.generated)).toHaveLength(1);
    for (const r of results) expect(r.key).toEqual(results[0]!.key);
  });

  test('a damaged master.key is an error naming the file and MASTER_KEY', async () => {
    const dataDir = tempDataDir();
    await resolveMasterKey({ dataDir });
    writeFileSync(join(dataDir, 'master.key'), 'not hex\n');
    const err = await resolveMasterKey({ dataDir }).catch((e: unknown) => e);
    expect(String(err)).toContain('master.key');
    expect(String(err)).toContain('MASTER_KEY');
  });
});

describe('resolveAdminKey', () => {
  test('generates admin.key (base64url of 32 bytes, 0600) once and reuses it', async () => {
    const dataDir = tempDataDir();
    const first = await resolveAdminKey({ dataDir });
    expect(first.generated).toBe(true);
    expect(first.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mode(first.path!)).toBe(0o600);
    expect(mode(dataDir)).toBe(0o700);
    expect(await resolveAdminKey({ dataDir })).toEqual({ key: first.key, generated: false, path: first.path });
  });

  test('uses ADMIN_KEY when configured', async () => {
    const dataDir = tempDataDir();
    expect(await resolveAdminKey({ adminKey: 'configured-admin-key', dataDir })).toEqual({
      key: 'configured-admin-key',
      generated: false,
    });
    expect(() => statSync(dataDir)).toThrow();
  });
});
