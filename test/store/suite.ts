// The store test suite, run once per dialect by sqlite.test.ts, postgres.test.ts and mysql.test.ts.
// Every test gets a database of its own, so counts and migration history start from nothing.
import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import {
  type Dialect,
  DuplicateAccountError,
  MasterKeyMismatchError,
  migrateOnly,
  openStore,
  SchemaOutdatedError,
  type Store,
} from '../../src/store';
import { SUCCESS_FLUSH_MS } from '../../src/store/accounts';
import { createHarness, missingServer, type Row, type TestDatabase } from './harness';

const KEY_A = new Uint8Array(32).fill(0xa1);
const KEY_B = new Uint8Array(32).fill(0xb2);
/** Child processes start bun, connect and migrate: generous, as CI shares two cores. */
const TWO_PROCESS_TIMEOUT_MS = 30_000;
/** The brief's concurrency level for the atomic counters. */
const CONCURRENT_CALLS = 20;

/** The error a promise rejects with. Settling it before expect() matters: bun's `expect(p).rejects` on a
 *  still-pending promise waits in a slow poll (≈0.5 s per call against PostgreSQL). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the promise to reject, but it resolved');
    },
    (err: unknown) => err,
  );
}

export function describeStoreSuite(dialect: Dialect): void {
  const missing = missingServer(dialect);
  if (missing) {
    describe(`store on ${dialect}`, () => {
      test('has a database server to test against', () => {
        throw new Error(missing);
      });
    });
    return;
  }

  describe(`store on ${dialect}`, () => {
    const harness = createHarness(dialect);
    const open: Store[] = [];
    const clockAt = (ms: number) => {
      const c = { now: ms, fn: () => c.now };
      return c;
    };
    async function storeOn(db: TestDatabase, opts: { key?: Uint8Array; clock?: () => number } = {}): Promise<Store> {
      const s = await openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: opts.key ?? KEY_A, clock: opts.clock });
      open.push(s);
      return s;
    }
    async function freshStore(opts: { key?: Uint8Array; clock?: () => number } = {}) {
      const db = await harness.fresh();
      return { db, store: await storeOn(db, opts) };
    }
    const history = (db: TestDatabase) =>
      db.query(dialect === 'postgres' ? 'select * from drizzle.__drizzle_migrations' : 'select * from __drizzle_migrations');
    const rawAccount = async (db: TestDatabase, id: string): Promise<Row> => {
      const [row] = await db.query('select * from accounts where id = ?', [id]);
      if (!row) throw new Error(`no row ${id}`);
      return row;
    };

    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });
    afterAll(() => harness.cleanup());

    test('migrations apply once and are idempotent', async () => {
      const db = await harness.fresh();
      const first = await migrateOnly({ databaseUrl: db.url, dataDir: db.dataDir });
      expect(first.dialect).toBe(dialect);
      expect(first.total).toBeGreaterThan(0);
      expect(first.applied).toBe(first.total);
      const again = await migrateOnly({ databaseUrl: db.url, dataDir: db.dataDir });
      expect(again.applied).toBe(0);
      expect(await history(db)).toHaveLength(first.total);
      const store = await storeOn(db); // openStore migrates too: still nothing new
      expect(await store.ping()).toBe(true);
      expect(await history(db)).toHaveLength(first.total);
    });

    test('a schema behind the code is refused when migration is off', async () => {
      const db = await harness.fresh();
      const attempt = openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY_A, migrate: false });
      expect(await rejection(attempt)).toBeInstanceOf(SchemaOutdatedError);
      await migrateOnly({ databaseUrl: db.url, dataDir: db.dataDir });
      const s = await openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY_A, migrate: false });
      open.push(s);
      expect(await s.accounts.countEnabled()).toBe(0);
    });

    test('create, get, update, delete', async () => {
      const clock = clockAt(Date.UTC(2030, 4, 6, 7, 8, 9, 123));
      const { store } = await freshStore({ clock: clock.fn });
      const a = await store.accounts.create({
        label: 'first',
        clientId: 'client-id-1',
        clientSecret: 'client-secret-1',
        refreshToken: 'refresh-token-1',
        accessToken: 'access-token-1',
        other: { note: 'hi', nested: { n: 1 } },
        authMethod: 'social',
        region: 'us-east-1',
        profileArn: 'arn:aws:codewhisperer:us-east-1:123:profile/X',
        priority: 3,
      });
      expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(a).toMatchObject({
        label: 'first',
        clientId: 'client-id-1',
        clientSecret: 'client-secret-1',
        refreshToken: 'refresh-token-1',
        accessToken: 'access-token-1',
        other: { note: 'hi', nested: { n: 1 } },
        lastRefreshTime: null,
        lastRefreshStatus: 'never',
        enabled: true,
        errorCount: 0,
        successCount: 0,
        expiresAt: null,
        authMethod: 'social',
        region: 'us-east-1',
        priority: 3,
        disabledReason: null,
        cooldownUntil: null,
        lastUsedAt: null,
        lastError: null,
        quotaResetAt: null,
      });
      expect(a.createdAt.getTime()).toBe(clock.now);
      expect(a.updatedAt.getTime()).toBe(clock.now);
      expect(await store.accounts.get(a.id)).toEqual(a);

      clock.now += 61_001;
      const u = await store.accounts.update(a.id, {
        label: null,
        accessToken: 'access-token-2',
        other: null,
        enabled: false,
        lastRefreshStatus: 'success',
      });
      expect(u).toMatchObject({ label: null, accessToken: 'access-token-2', other: null, enabled: false, disabledReason: 'manual' });
      expect(u?.refreshToken).toBe('refresh-token-1');
      expect(u?.createdAt.getTime()).toBe(a.createdAt.getTime());
      expect(u?.updatedAt.getTime()).toBe(clock.now);
      const reenabled = await store.accounts.update(a.id, { enabled: true });
      expect(reenabled).toMatchObject({ enabled: true, disabledReason: null });
      // Keys outside the patch type (id, createdAt, the token hash) never reach the row.
      const sneaky = { id: 'other-id', createdAt: new Date(0), refreshTokenHash: 'x' } as unknown as Parameters<
        Store['accounts']['update']
      >[1];
      expect((await store.accounts.update(a.id, sneaky))?.id).toBe(a.id);
      expect((await store.accounts.findByRefreshToken('refresh-token-1'))?.id).toBe(a.id);

      expect(await store.accounts.update('no-such-id', { label: 'x' })).toBeNull();
      expect(await store.accounts.get('no-such-id')).toBeNull();
      expect(await store.accounts.delete(a.id)).toBe(true);
      expect(await store.accounts.get(a.id)).toBeNull();
      expect(await store.accounts.delete(a.id)).toBe(false);
    });

    test('list filters by enabled and pages in created order', async () => {
      const clock = clockAt(Date.UTC(2030, 0, 1));
      const { store } = await freshStore({ clock: clock.fn });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.now += 1_000;
        ids.push((await store.accounts.create({ label: `a${i}`, enabled: i % 2 === 0 })).id);
      }
      const all = await store.accounts.list();
      expect(all.total).toBe(5);
      expect(all.items.map((x) => x.id)).toEqual(ids);
      const enabled = await store.accounts.list({ enabled: true });
      expect(enabled.total).toBe(3);
      expect(enabled.items.map((x) => x.label)).toEqual(['a0', 'a2', 'a4']);
      const disabled = await store.accounts.list({ enabled: false });
      expect(disabled.items.map((x) => x.disabledReason)).toEqual(['manual', 'manual']);
      const page = await store.accounts.list({ limit: 2, offset: 1 });
      expect(page.total).toBe(5);
      expect(page.items.map((x) => x.id)).toEqual(ids.slice(1, 3));
      expect((await store.accounts.list({ offset: 3 })).items.map((x) => x.id)).toEqual(ids.slice(3));
      expect((await store.accounts.list({ enabled: true, limit: 1, offset: 2 })).items.map((x) => x.label)).toEqual(['a4']);
      expect((await store.accounts.list({ limit: 0 })).items).toEqual([]);
      expect(await store.accounts.countEnabled()).toBe(3);
      expect(await rejection(store.accounts.list({ limit: -1 }))).toBeInstanceOf(RangeError);
    });

    test('sealed columns hold no plaintext', async () => {
      const { db, store } = await freshStore();
      const secrets = { refreshToken: 'rt-PLAINTEXT-aaaa', clientSecret: 'cs-PLAINTEXT-bbbb', accessToken: 'at-PLAINTEXT-cccc' };
      const a = await store.accounts.create({ clientId: 'visible-client-id', ...secrets });
      await store.accounts.update(a.id, { accessToken: 'at-PLAINTEXT-dddd' });
      const row = await rawAccount(db, a.id);
      const text = JSON.stringify(row);
      for (const s of [...Object.values(secrets), 'at-PLAINTEXT-dddd', 'PLAINTEXT']) expect(text).not.toContain(s);
      for (const column of ['refreshToken', 'clientSecret', 'accessToken']) {
        expect(String(row[column])).toMatch(/^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
      }
      expect(row.clientId).toBe('visible-client-id'); // the camelCase name came back as is
      expect(String(row.refresh_token_hash)).toMatch(/^[0-9a-f]{64}$/);
      expect((await store.accounts.get(a.id))?.accessToken).toBe('at-PLAINTEXT-dddd');
      // A sealed value copied into another row does not open there (it is bound to its row and column).
      const b = await store.accounts.create({ label: 'victim', accessToken: 'x' });
      await db.query('update accounts set ' + q('accessToken') + ' = ? where id = ?', [row.accessToken, b.id]);
      expect(String(await rejection(store.accounts.get(b.id)))).toMatch(/MASTER_KEY|altered/);
    });

    test('a database sealed under another master key is refused at open', async () => {
      const { db, store } = await freshStore({ key: KEY_A });
      await store.accounts.create({ refreshToken: 'rt-key-check' });
      await store.close();
      const wrong = openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY_B });
      expect(await rejection(wrong)).toBeInstanceOf(MasterKeyMismatchError);
      expect(String(await rejection(openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY_B })))).toMatch(/MASTER_KEY/);
      // Even with the canary row gone, a stored secret that does not open is caught before a new canary is written.
      await db.query('delete from meta');
      expect(String(await rejection(openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY_B })))).toMatch(/MASTER_KEY/);
      expect(await db.query('select * from meta')).toHaveLength(0);
      const right = await storeOn(db, { key: KEY_A });
      expect((await right.accounts.list()).items[0]?.refreshToken).toBe('rt-key-check');
    });

    test('duplicate refresh tokens are detected on create and update', async () => {
      const { store } = await freshStore();
      const a = await store.accounts.create({ label: 'a', refreshToken: 'rt-dup' });
      const err = await store.accounts.create({ label: 'b', refreshToken: 'rt-dup' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DuplicateAccountError);
      expect((err as DuplicateAccountError).existingId).toBe(a.id);
      const b = await store.accounts.create({ label: 'b', refreshToken: 'rt-other' });
      const err2 = await store.accounts.update(b.id, { refreshToken: 'rt-dup' }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(DuplicateAccountError);
      expect((err2 as DuplicateAccountError).existingId).toBe(a.id);
      expect((await store.accounts.get(b.id))?.refreshToken).toBe('rt-other');
      expect((await store.accounts.update(a.id, { refreshToken: 'rt-dup', label: 'same' }))?.label).toBe('same');
      expect((await store.accounts.findByRefreshToken('rt-dup'))?.id).toBe(a.id);
      expect(await store.accounts.findByRefreshToken('rt-unknown')).toBeNull();
      // Accounts without a refresh token (api_key) never collide with each other.
      await store.accounts.create({ authMethod: 'api_key', accessToken: 'k1' });
      await store.accounts.create({ authMethod: 'api_key', accessToken: 'k2' });
      // Racing creators with one token: the unique index lets exactly one through.
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => store.accounts.create({ refreshToken: 'rt-race' })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DuplicateAccountError);
    });

    test(`recordSuccess and recordFailure are atomic under ${CONCURRENT_CALLS} concurrent calls`, async () => {
      const clock = clockAt(Date.UTC(2030, 0, 1));
      const { store } = await freshStore({ clock: clock.fn });
      const a = await store.accounts.create({ label: 'busy' });
      const times = <T>(fn: () => Promise<T>) => Promise.all(Array.from({ length: CONCURRENT_CALLS }, fn));
      await times(() => store.accounts.recordFailure(a.id, 'boom', 1_000));
      expect((await store.accounts.get(a.id))?.errorCount).toBe(CONCURRENT_CALLS);
      clock.now += 5_000;
      await times(() => store.accounts.recordSuccess(a.id));
      const after = await store.accounts.get(a.id);
      expect(after).toMatchObject({ successCount: CONCURRENT_CALLS, errorCount: 0, enabled: true });
      expect(after?.lastUsedAt?.getTime()).toBe(clock.now);
      expect(after?.updatedAt.getTime()).toBe(clock.now);

      const b = await store.accounts.create({ label: 'doomed' });
      const max = 5;
      await times(() => store.accounts.recordFailure(b.id, 'x'.repeat(10_000), max));
      const dead = await store.accounts.get(b.id);
      expect(dead).toMatchObject({ errorCount: CONCURRENT_CALLS, enabled: false, disabledReason: 'too_many_errors' });
      expect(dead?.lastError?.length).toBe(2_000);
      expect(await store.accounts.countEnabled()).toBe(1);
    });

    test('successes are written behind: summed, landed before any other statement, on flush, by the timer and on close', async () => {
      const clock = clockAt(Date.UTC(2030, 0, 1));
      const { db, store } = await freshStore({ clock: clock.fn });
      const a = await store.accounts.create({ label: 'busy' });
      const successCount = async () => Number((await rawAccount(db, a.id)).success_count);
      await store.accounts.recordFailure(a.id, 'before', 1_000);
      for (let i = 0; i < 3; i++) await store.accounts.recordSuccess(a.id);
      expect(await successCount()).toBe(0); // not written yet
      // a statement through the repository lands them first, in order: the failure after them counts
      clock.now += 1_000;
      expect(await store.accounts.recordFailure(a.id, 'after', 1_000)).toMatchObject({ successCount: 3, errorCount: 1 });
      clock.now += 1_000;
      await store.accounts.recordSuccess(a.id);
      await store.accounts.flush();
      const row = await rawAccount(db, a.id);
      expect([Number(row.success_count), Number(row.error_count)]).toEqual([4, 0]);
      expect((await store.accounts.get(a.id))?.lastUsedAt?.getTime()).toBe(clock.now);
      // nothing else happens: the timer writes them within SUCCESS_FLUSH_MS
      await store.accounts.recordSuccess(a.id);
      await Bun.sleep(SUCCESS_FLUSH_MS + 200);
      expect(await successCount()).toBe(5);
      // closing the store writes what is pending
      await store.accounts.recordSuccess(a.id);
      await store.close();
      expect(await successCount()).toBe(6);
    });

    test('recordFailure disables exactly at maxErrorCount and keeps an earlier reason', async () => {
      const { store } = await freshStore();
      const a = await store.accounts.create({});
      for (let i = 1; i < 3; i++) expect(await store.accounts.recordFailure(a.id, `e${i}`, 3)).toMatchObject({ errorCount: i, enabled: true });
      expect(await store.accounts.recordFailure(a.id, 'e3', 3)).toMatchObject({
        errorCount: 3,
        enabled: false,
        disabledReason: 'too_many_errors',
        lastError: 'e3',
      });
      const m = await store.accounts.create({ enabled: false });
      await store.accounts.update(m.id, { disabledReason: 'suspended' });
      expect(await store.accounts.recordFailure(m.id, 'e', 1)).toMatchObject({ enabled: false, disabledReason: 'suspended' });
      expect(await store.accounts.recordFailure('no-such-id', 'e', 1)).toBeNull();
      await store.accounts.recordSuccess('no-such-id'); // no row, no error
    });

    test('times round-trip as UTC instants to the millisecond, whatever the local zones', async () => {
      const created = Date.UTC(2029, 11, 31, 23, 59, 59, 999);
      const db = await harness.fresh();
      // Zones far from UTC, with a 45-minute offset, for the process and (PostgreSQL) the database.
      const zone = 'Pacific/Chatham';
      if (dialect === 'postgres') {
        const [{ name } = {}] = await db.query('select current_database() as name');
        await db.query(`alter database "${String(name)}" set timezone = '${zone}'`);
      }
      const savedTz = process.env.TZ;
      process.env.TZ = zone;
      try {
        await timesRoundTrip(db, await storeOn(db, { clock: () => created }), created);
      } finally {
        if (savedTz === undefined) delete process.env.TZ;
        else process.env.TZ = savedTz;
      }
    });

    async function timesRoundTrip(db: TestDatabase, store: Store, created: number): Promise<void> {
      expect(new Date(0).getTimezoneOffset()).not.toBe(0); // the zone change took effect
      const expiresAt = new Date(Date.UTC(2031, 0, 2, 3, 4, 5, 678));
      const a = await store.accounts.create({ expiresAt });
      const patch = {
        lastRefreshTime: new Date(Date.UTC(2030, 6, 1, 0, 0, 0, 1)),
        cooldownUntil: new Date(Date.UTC(2030, 2, 30, 1, 30, 0, 500)), // a DST changeover in many zones
        lastUsedAt: new Date(Date.UTC(2030, 9, 27, 2, 15, 0, 999)),
        quotaResetAt: new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 0)),
      };
      const u = await store.accounts.update(a.id, patch);
      expect(u?.expiresAt?.getTime()).toBe(expiresAt.getTime());
      expect(u?.createdAt.getTime()).toBe(created);
      for (const [k, v] of Object.entries(patch)) expect((u as unknown as Record<string, Date>)[k]?.getTime()).toBe(v.getTime());
      // How it sits in the database: UTC, whatever the server's or the process's zone.
      if (dialect === 'sqlite') {
        expect((await rawAccount(db, a.id)).expires_at).toBe(expiresAt.getTime());
      } else if (dialect === 'postgres') {
        const [r] = await db.query(
          "select to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as t, data_type from accounts, information_schema.columns where id = ? and table_name = 'accounts' and column_name = 'expires_at'",
          [a.id],
        );
        expect(r).toEqual({ t: '2031-01-02 03:04:05.678', data_type: 'timestamp with time zone' });
      } else {
        expect((await rawAccount(db, a.id)).expires_at).toBe('2031-01-02 03:04:05.678');
      }
    }

    test('camelCase columns keep their case', async () => {
      const { db } = await freshStore();
      const columns =
        dialect === 'sqlite'
          ? (await db.query("select name from pragma_table_info('accounts')")).map((r) => r.name)
          : (
              await db.query(
                dialect === 'postgres'
                  ? "select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'accounts'"
                  : "select column_name as name from information_schema.columns where table_schema = database() and table_name = 'accounts'",
              )
            ).map((r) => r.name);
      for (const c of ['clientId', 'clientSecret', 'refreshToken', 'accessToken', 'last_refresh_time', 'refresh_token_hash']) {
        expect(columns).toContain(c);
      }
      expect(columns).not.toContain('clientid');
    });

    test(
      'two processes opening one fresh database at once both succeed, migrating once',
      async () => {
        const db = await harness.fresh();
        const keyHex = Buffer.from(KEY_A).toString('hex');
        const child = join(import.meta.dir, 'open-store-child.ts');
        const procs = [0, 1].map(() =>
          Bun.spawn([process.execPath, child, db.url, db.dataDir, keyHex], { stdout: 'pipe', stderr: 'pipe' }),
        );
        const results = await Promise.all(
          procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() })),
        );
        for (const r of results) expect(r).toEqual({ code: 0, out: 'opened\n', err: '' });
        const { total } = await migrateOnly({ databaseUrl: db.url, dataDir: db.dataDir });
        expect(await history(db)).toHaveLength(total);
        expect(await db.query('select * from meta')).toHaveLength(1);
      },
      TWO_PROCESS_TIMEOUT_MS,
    );

    test('ping is true while open and false, without throwing, once closed', async () => {
      const { store } = await freshStore();
      expect(await store.ping()).toBe(true);
      await store.close();
      expect(await store.ping()).toBe(false);
      await store.close(); // closing twice is harmless
    });
  });

  /** A column name quoted for the dialect, for raw SQL in these tests. */
  function q(name: string): string {
    return dialect === 'mysql' || dialect === 'sqlite' ? `\`${name}\`` : `"${name}"`;
  }
}
