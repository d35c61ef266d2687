// The store suite against SQLite (a file in a temp dir), plus what only SQLite has: the default file
// in DATA_DIR and in-memory databases.
import { Database } from 'bun:sqlite';
import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store';
import { describeStoreSuite } from './suite';

describeStoreSuite('sqlite');

const base = mkdtempSync(join(tmpdir(), 'q2api-sqlite-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const key = new Uint8Array(32).fill(3);

test('an empty DATABASE_URL means DATA_DIR/data.sqlite3, in WAL mode, DATA_DIR created 0700 and the files 0600', async () => {
  const dataDir = join(base, 'fresh', 'data');
  const store = await openStore({ databaseUrl: '', dataDir, masterKey: key });
  try {
    expect(store.dialect).toBe('sqlite');
    await store.accounts.create({ label: 'x' });
    for (const file of ['data.sqlite3', 'data.sqlite3-wal', 'data.sqlite3-shm']) {
      expect([file, statSync(join(dataDir, file)).mode & 0o777]).toEqual([file, 0o600]);
    }
  } finally {
    await store.close();
  }
  expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  const raw = new Database(join(dataDir, 'data.sqlite3'));
  try {
    expect(raw.query('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(raw.query('select count(*) as n from accounts').get()).toEqual({ n: 1 });
  } finally {
    raw.close();
  }
});

test('sqlite::memory: gives each store a database of its own', async () => {
  const a = await openStore({ databaseUrl: 'sqlite::memory:', dataDir: join(base, 'unused'), masterKey: key });
  const b = await openStore({ databaseUrl: 'sqlite::memory:', dataDir: join(base, 'unused'), masterKey: key });
  try {
    await a.accounts.create({ refreshToken: 'same-token' });
    await b.accounts.create({ refreshToken: 'same-token' }); // no duplicate: another database
    expect(await a.accounts.countEnabled()).toBe(1);
    expect(await b.accounts.countEnabled()).toBe(1);
  } finally {
    await a.close();
    await b.close();
  }
  expect(() => statSync(join(base, 'unused'))).toThrow(); // nothing written to disk
});
