// Applies the embedded drizzle-kit migrations at start-up, one process at a time: PostgreSQL holds an
// advisory lock, MySQL a named lock, SQLite a write transaction, around "read history, apply the rest".
import { createHash } from 'node:crypto';
import type { Database } from 'bun:sqlite';
import { sql } from 'drizzle-orm';
import type { MigrationConfig, MigrationMeta } from 'drizzle-orm/migrator';
import type { MySqlDialect, MySqlSession } from 'drizzle-orm/mysql-core';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import type { RowDataPacket } from 'mysql2/promise';
import { type Connection, CONNECT_TIMEOUT_MS, type Dialect, mysqlOptions, pgOptions } from './db';
import { embeddedMigrations } from './migrations.gen';

/** One migration as embedded by scripts/gen-migrations.ts. */
export interface EmbeddedMigration {
  tag: string;
  /** drizzle-kit's timestamp; the history table records it, and later ones are the pending ones */
  when: number;
  breakpoints: boolean;
  sql: string;
}

/** drizzle's own history table (and, on PostgreSQL, schema), so drizzle-kit sees the same history. */
const HISTORY_TABLE = '__drizzle_migrations';
const PG_HISTORY_SCHEMA = 'drizzle';
/** Arbitrary constant naming "q2api schema migration" among advisory locks (they are per database). */
const PG_MIGRATION_LOCK_KEY = 0x71326170; // "q2ap"
/** How long a starting process waits for a peer's migration before giving up. Migrations here are
 *  small DDL; a minute means the peer is stuck, and failing loudly beats hanging forever. */
const MIGRATION_LOCK_TIMEOUT_MS = 60_000;
/** MySQL lock names are server-wide and at most 64 characters: the database name goes in hashed. */
const MYSQL_LOCK_PREFIX = 'q2api-migrate-';

const FOLDER: Record<Dialect, keyof typeof embeddedMigrations> = { sqlite: 'sqlite', postgres: 'pg', mysql: 'mysql' };

/** The embedded migrations in drizzle's own shape (same split and hash as its file-based reader). */
export function migrationsFor(dialect: Dialect): MigrationMeta[] {
  return embeddedMigrations[FOLDER[dialect]].map((m) => ({
    sql: m.sql.split('--> statement-breakpoint'),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash('sha256').update(m.sql).digest('hex'),
  }));
}

export interface MigrationResult {
  applied: number;
  total: number;
}

/** Brings the schema up to date; safe when several processes start at once. */
export async function applyMigrations(conn: Connection): Promise<MigrationResult> {
  const migrations = migrationsFor(conn.dialect);
  switch (conn.dialect) {
    case 'sqlite':
      return { applied: migrateSqlite(conn.raw, migrations), total: migrations.length };
    case 'postgres':
      return { applied: await migratePostgres(conn.url, migrations), total: migrations.length };
    case 'mysql':
      return { applied: await migrateMysql(conn.url, migrations), total: migrations.length };
  }
}

/** How many embedded migrations the database has not had yet (read-only). */
export async function pendingMigrations(conn: Connection): Promise<number> {
  const migrations = migrationsFor(conn.dialect);
  const present =
    conn.dialect === 'sqlite'
      ? sql`select count(*) as n from sqlite_master where type = 'table' and name = ${HISTORY_TABLE}`
      : conn.dialect === 'postgres'
        ? sql`select count(*)::int as n from information_schema.tables where table_schema = ${PG_HISTORY_SCHEMA} and table_name = ${HISTORY_TABLE}`
        : sql`select count(*) as n from information_schema.tables where table_schema = database() and table_name = ${HISTORY_TABLE}`;
  const [row] = await conn.all<{ n: number | string }>(present);
  if (Number(row?.n ?? 0) === 0) return migrations.length;
  const table = conn.dialect === 'postgres' ? sql`${sql.identifier(PG_HISTORY_SCHEMA)}.${sql.identifier(HISTORY_TABLE)}` : sql.identifier(HISTORY_TABLE);
  const [last] = await conn.all<{ m: number | string | null }>(sql`select max(created_at) as m from ${table}`);
  return countPending(migrations, last?.m ?? null);
}

function countPending(migrations: MigrationMeta[], lastMillis: number | string | null): number {
  return migrations.filter((m) => lastMillis === null || Number(lastMillis) < m.folderMillis).length;
}

/**
 * drizzle's SQLite migrator reads the history before its `BEGIN` (deferred), so two processes can both
 * decide to apply the same migration. This is the same algorithm and history table, but the read
 * happens inside `BEGIN IMMEDIATE`, which takes the write lock first (waiting up to busy_timeout).
 */
function migrateSqlite(db: Database, migrations: MigrationMeta[]): number {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS "${HISTORY_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
    const last = db.query(`SELECT created_at FROM "${HISTORY_TABLE}" ORDER BY created_at DESC LIMIT 1`).get() as {
      created_at: number | string;
    } | null;
    const pending = migrations.filter((m) => last === null || Number(last.created_at) < m.folderMillis);
    const record = db.prepare(`INSERT INTO "${HISTORY_TABLE}" ("hash", "created_at") VALUES (?, ?)`);
    for (const m of pending) {
      for (const stmt of m.sql) if (stmt.trim() !== '') db.exec(stmt);
      record.run(m.hash, m.folderMillis);
    }
    db.exec('COMMIT');
    return pending.length;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** Advisory locks belong to a session, so the whole migration runs on one dedicated connection. */
async function migratePostgres(url: string, migrations: MigrationMeta[]): Promise<number> {
  const [{ default: postgres }, { drizzle: drizzlePg }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]);
  const client = postgres(
    url,
    // lock_timeout bounds the wait for the advisory lock (and for table locks the DDL needs).
    pgOptions({ max: 1, connection: { lock_timeout: MIGRATION_LOCK_TIMEOUT_MS } }),
  );
  try {
    await client`select pg_advisory_lock(${PG_MIGRATION_LOCK_KEY})`;
    try {
      const db = drizzlePg(client);
      const [present] = await client<{ n: number }[]>`
        select count(*)::int as n from information_schema.tables
        where table_schema = ${PG_HISTORY_SCHEMA} and table_name = ${HISTORY_TABLE}`;
      let last: string | null = null;
      if ((present?.n ?? 0) > 0) {
        const [row] = await client<{ m: string | null }[]>`
          select max(created_at)::text as m from ${client(PG_HISTORY_SCHEMA)}.${client(HISTORY_TABLE)}`;
        last = row?.m ?? null;
      }
      const applied = countPending(migrations, last);
      const internals = db as unknown as { dialect: PgDialect; session: PgSession };
      await internals.dialect.migrate(migrations, internals.session, embeddedConfig());
      return applied;
    } finally {
      await client`select pg_advisory_unlock(${PG_MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await client.end({ timeout: CONNECT_TIMEOUT_MS / 1000 });
  }
}

/** GET_LOCK belongs to a session too: one dedicated connection, the lock named after the database. */
async function migrateMysql(url: string, migrations: MigrationMeta[]): Promise<number> {
  const [{ default: mysql }, { drizzle: drizzleMysql }] = await Promise.all([import('mysql2/promise'), import('drizzle-orm/mysql2')]);
  const conn = await mysql.createConnection(mysqlOptions(url));
  try {
    const [[dbRow]] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS name');
    const lockName = MYSQL_LOCK_PREFIX + createHash('sha256').update(String(dbRow?.name)).digest('hex').slice(0, 40);
    const [[lockRow]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [
      lockName,
      MIGRATION_LOCK_TIMEOUT_MS / 1000,
    ]);
    if (Number(lockRow?.got) !== 1) {
      throw new Error(
        `timed out after ${MIGRATION_LOCK_TIMEOUT_MS / 1000}s waiting for another process to finish migrating the database`,
      );
    }
    try {
      const [[present]] = await conn.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
        [HISTORY_TABLE],
      );
      let last: string | number | null = null;
      if (Number(present?.n ?? 0) > 0) {
        const [[row]] = await conn.query<RowDataPacket[]>(`SELECT MAX(created_at) AS m FROM \`${HISTORY_TABLE}\``);
        last = (row?.m as string | number | null | undefined) ?? null;
      }
      const applied = countPending(migrations, last);
      const db = drizzleMysql(conn, { mode: 'default' });
      const internals = db as unknown as { dialect: MySqlDialect; session: MySqlSession };
      await internals.dialect.migrate(migrations, internals.session, embeddedConfig());
      return applied;
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lockName]);
    }
  } finally {
    await conn.end();
  }
}

/** drizzle's migrate() wants a config naming the folder it would read; the migrations are already in memory. */
function embeddedConfig(): MigrationConfig {
  return { migrationsFolder: '(embedded)', migrationsTable: HISTORY_TABLE };
}
