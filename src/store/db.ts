// Opens one database from DATABASE_URL: bun:sqlite, postgres.js or mysql2, each behind drizzle, and
// exposes them through one dialect-neutral view (the PostgreSQL-typed builder plus a few raw helpers).
import { Database } from 'bun:sqlite';
import { closeSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzleSqlite } from 'drizzle-orm/bun-sqlite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { PoolOptions } from 'mysql2/promise';
import type { Options as PostgresOptions } from 'postgres';
import { redactUrl } from '../config';
import { ensureDataDir } from './keys';
// The PostgreSQL and MySQL drivers, their drizzle adapters and schemas are imported when such a
// database is opened: the default SQLite set-up does not pay ~100 ms of start-up and their memory.
import type * as mysqlSchema from './schema/mysql';
import type * as pgSchema from './schema/pg';
import * as sqliteSchema from './schema/sqlite';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

export type DatabaseTarget =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; url: string }
  | { dialect: 'mysql'; url: string };

/** Default SQLite file inside DATA_DIR, the name Python q2api used. */
export const DEFAULT_SQLITE_FILE = 'data.sqlite3';
/** How long a SQLite writer waits for another (process) to release the write lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/** A new SQLite file is readable by its owner only: its rows hold sealed secrets. */
export const SQLITE_FILE_MODE = 0o600;
/** Pause between attempts to switch a SQLite file to WAL while another process holds its lock. */
const WAL_RETRY_MS = 10;
/** Requests do a few short queries each; 10 leaves room under PostgreSQL's default 100 connections
 *  for several replicas plus the admin tools. */
export const PG_POOL_MAX = 10;
/** Same reasoning as PG_POOL_MAX (MySQL's default max_connections is 151). */
export const MYSQL_POOL_MAX = 10;
/** A database that does not accept a connection within this time is treated as down. */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Seconds postgres.js waits before reconnecting after a failed connection. Its default grows as
 * 3^n / 100 with every failure, shared by the whole pool, up to 20 s: during an outage queries then
 * queue for up to 20 s instead of failing, and after it recovery waits that long (found by
 * test/faults/database-outage.test.ts). A short, capped delay fails fast and recovers at once.
 */
export const PG_RECONNECT_BACKOFF_S = (retries: number) => Math.min(0.5, 0.05 * 2 ** retries);

/**
 * drizzle's three builders share one API for what the store uses (select / insert / update / delete,
 * awaited; no `returning`, no `onConflict`, which MySQL lacks), but TypeScript cannot call methods on a
 * union of them. So every connection is typed as the PostgreSQL flavour, and its `tables` as the pg
 * tables; at run time each dialect gets its own tables. `RowsAgree` below proves the row types match.
 */
export type QueryDb = PgDatabase<PgQueryResultHKT>;
export interface Tables {
  accounts: typeof pgSchema.accounts;
  meta: typeof pgSchema.meta;
  loginSessions: typeof pgSchema.loginSessions;
  oidcClients: typeof pgSchema.oidcClients;
  usageDaily: typeof pgSchema.usageDaily;
  requestLog: typeof pgSchema.requestLog;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type TableAgrees<K extends keyof Tables> = Same<(typeof sqliteSchema)[K]['$inferSelect'], (typeof pgSchema)[K]['$inferSelect']> &
  Same<(typeof mysqlSchema)[K]['$inferSelect'], (typeof pgSchema)[K]['$inferSelect']> &
  Same<(typeof sqliteSchema)[K]['$inferInsert'], (typeof pgSchema)[K]['$inferInsert']> &
  Same<(typeof mysqlSchema)[K]['$inferInsert'], (typeof pgSchema)[K]['$inferInsert']>;
type RowsAgree = TableAgrees<'accounts'> &
  TableAgrees<'meta'> &
  TableAgrees<'loginSessions'> &
  TableAgrees<'oidcClients'> &
  TableAgrees<'usageDaily'> &
  TableAgrees<'requestLog'>;
const rowsAgree: RowsAgree = true; // a compile error here means a schema file drifted from the others
void rowsAgree;

interface ConnectionBase {
  db: QueryDb;
  tables: Tables;
  /** Runs a statement built with drizzle's `sql`; resolves to the number of rows it touched. */
  run(query: SQL): Promise<number>;
  /** Runs a query built with drizzle's `sql`; rows as plain objects, values as the driver returns them. */
  all<T extends Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** Rows touched, from the result of an awaited update/delete builder. */
  affected(result: unknown): number;
  /** Cheap round trip to the server. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Connection = ConnectionBase &
  (
    | { dialect: 'sqlite'; raw: Database }
    | { dialect: 'postgres'; url: string }
    | { dialect: 'mysql'; url: string }
  );

/** DATABASE_URL → where the data lives. Empty means `${dataDir}/data.sqlite3`. */
export function parseDatabaseUrl(databaseUrl: string, dataDir: string): DatabaseTarget {
  const url = databaseUrl.trim();
  if (url === '') return { dialect: 'sqlite', path: join(dataDir, DEFAULT_SQLITE_FILE) };
  const lower = url.toLowerCase();
  if (lower.startsWith('sqlite:')) {
    // `sqlite:PATH`, also `sqlite://PATH` (so `sqlite:///abs/file` is /abs/file) and `sqlite::memory:`.
    const rest = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (rest === '') throw new Error('DATABASE_URL=sqlite: needs a file path, e.g. sqlite:./data/q2api.sqlite3');
    return { dialect: 'sqlite', path: rest };
  }
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) return { dialect: 'postgres', url };
  if (lower.startsWith('mysql://')) return { dialect: 'mysql', url };
  throw new Error(
    `DATABASE_URL=${JSON.stringify(redactUrl(url))}: expected empty (SQLite in DATA_DIR), sqlite:PATH, postgres://…, postgresql://… or mysql://…`,
  );
}

export async function connect(target: DatabaseTarget): Promise<Connection> {
  switch (target.dialect) {
    case 'sqlite':
      return connectSqlite(target.path);
    case 'postgres':
      return await connectPostgres(target.url);
    case 'mysql':
      return await connectMysql(target.url);
  }
}

export function isMemorySqlite(path: string): boolean {
  return path === ':memory:';
}

function connectSqlite(path: string): Connection {
  // A missing directory is created owner-only: the file holds sealed secrets, DATA_DIR also master.key.
  if (!isMemorySqlite(path)) {
    ensureDataDir(dirname(path));
    // Created owner-only before SQLite opens it (its -wal and -shm files copy these permissions); an
    // existing file is left as the operator set it.
    closeSync(openSync(path, 'a', SQLITE_FILE_MODE));
  }
  const raw = new Database(path, { create: true });
  // busy_timeout first: switching to WAL itself needs the lock another process may hold.
  raw.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  if (!isMemorySqlite(path)) enableWal(raw);
  raw.exec('PRAGMA synchronous = NORMAL'); // durable enough with WAL, as in Python q2api
  const db = drizzleSqlite(raw);
  let closed = false;
  return {
    dialect: 'sqlite',
    raw,
    db: db as unknown as QueryDb,
    tables: sqliteSchema as unknown as Tables,
    async run(query) {
      return numberField(db.run(query) as unknown, 'changes');
    },
    async all<T extends Record<string, unknown>>(query: SQL) {
      return db.all<T>(query);
    },
    affected: (result) => numberField(result, 'changes'),
    async ping() {
      raw.query('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      raw.close();
    },
  };
}

/**
 * Switching a file to WAL reads its header under a shared lock, then needs an exclusive one. Two
 * processes opening a fresh file at once both hold the shared lock and want the exclusive one:
 * SQLite answers one of them SQLITE_BUSY at once, without the busy handler (waiting could only
 * deadlock). The other finishes quickly, so a retry succeeds; bounded by SQLITE_BUSY_TIMEOUT_MS.
 * Start-up only, so a synchronous sleep is fine.
 */
function enableWal(raw: Database): void {
  const deadline = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      raw.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Bun.sleepSync(WAL_RETRY_MS);
    }
  }
}

async function connectPostgres(url: string): Promise<Connection> {
  const [{ default: postgres }, { drizzle: drizzlePg }, pgSchema] = await Promise.all([
    import('postgres'),
    import('drizzle-orm/postgres-js'),
    import('./schema/pg'),
  ]);
  const client = postgres(url, pgOptions({ max: PG_POOL_MAX }));
  const db = drizzlePg(client);
  let closed = false;
  return {
    dialect: 'postgres',
    url,
    db,
    tables: pgSchema,
    async run(query) {
      return numberField(await db.execute(query), 'count');
    },
    async all<T extends Record<string, unknown>>(query: SQL) {
      return [...(await db.execute(query))] as T[];
    },
    affected: (result) => numberField(result, 'count'),
    async ping() {
      await client`select 1`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.end({ timeout: CONNECT_TIMEOUT_MS / 1000 });
    },
  };
}

/** postgres.js options shared by the pool and the migration connection. The session time zone is UTC so
 *  timestamptz text always ends in +00, whatever the server or database default is. */
export function pgOptions(extra: PostgresOptions<Record<string, never>>): PostgresOptions<Record<string, never>> {
  return {
    connect_timeout: CONNECT_TIMEOUT_MS / 1000,
    backoff: PG_RECONNECT_BACKOFF_S,
    onnotice: () => {}, // "relation already exists, skipping" and the like are not news
    ...extra,
    connection: { TimeZone: 'UTC', ...extra.connection },
  };
}

/** mysql2 options shared by the pool and the migration connection. `timezone: 'Z'` makes mysql2 read
 *  and write JS Dates as UTC; the store itself writes DATETIME text in UTC (drizzle), never local time. */
export function mysqlOptions(url: string): PoolOptions {
  return { uri: url, timezone: 'Z', connectTimeout: CONNECT_TIMEOUT_MS, supportBigNumbers: true };
}

async function connectMysql(url: string): Promise<Connection> {
  const [{ default: mysql }, { drizzle: drizzleMysql }, mysqlSchema] = await Promise.all([
    import('mysql2/promise'),
    import('drizzle-orm/mysql2'),
    import('./schema/mysql'),
  ]);
  const pool = mysql.createPool({ ...mysqlOptions(url), connectionLimit: MYSQL_POOL_MAX });
  const db = drizzleMysql(pool, { mode: 'default' });
  let closed = false;
  return {
    dialect: 'mysql',
    url,
    db: db as unknown as QueryDb,
    tables: mysqlSchema as unknown as Tables,
    async run(query) {
      const [header] = await db.execute(query);
      return numberField(header, 'affectedRows');
    },
    async all<T extends Record<string, unknown>>(query: SQL) {
      const [rows] = await db.execute(query);
      return rows as unknown as T[];
    },
    affected: (result) => numberField(Array.isArray(result) ? result[0] : result, 'affectedRows'),
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

function numberField(value: unknown, field: string): number {
  const n = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
  return typeof n === 'number' ? n : typeof n === 'bigint' ? Number(n) : 0;
}
