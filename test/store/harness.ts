// Throwaway databases for the store suites: a temp dir for SQLite, a fresh CREATE DATABASE on the
// PostgreSQL / MariaDB servers named by TEST_PG_URL / TEST_MYSQL_URL, dropped again afterwards.
import { Database } from 'bun:sqlite';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { Dialect } from '../../src/store';

export const ENV_FOR: Record<Exclude<Dialect, 'sqlite'>, string> = { postgres: 'TEST_PG_URL', mysql: 'TEST_MYSQL_URL' };

/** Why a server suite cannot run, or null when it can. */
export function missingServer(dialect: Dialect): string | null {
  if (dialect === 'sqlite') return null;
  const name = ENV_FOR[dialect];
  if (process.env[name]) return null;
  const example =
    dialect === 'postgres' ? 'postgres://postgres@127.0.0.1:55432/q2api_test' : 'mysql://q2api:q2api@127.0.0.1:53306/q2api_test';
  return `${name} is not set: the ${dialect} store suite needs a throwaway server. Run the tests through scripts/test.sh (it starts one and exports ${name}), or export ${name}=${example}`;
}

export type Row = Record<string, unknown>;

export interface TestDatabase {
  url: string;
  /** a DATA_DIR of its own (temp), for stores opened on this database */
  dataDir: string;
  /** runs SQL straight on the driver, bypassing the store; placeholders are `?` for all dialects */
  query(text: string, params?: unknown[]): Promise<Row[]>;
}

export interface Harness {
  dialect: Dialect;
  /** a new, empty database */
  fresh(): Promise<TestDatabase>;
  /** drops every database made by fresh() */
  cleanup(): Promise<void>;
}

export function createHarness(dialect: Dialect): Harness {
  const cleanups: (() => Promise<void>)[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'q2api-store-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const dbName = () => `q2api_t_${randomBytes(6).toString('hex')}`;

  return {
    dialect,
    async fresh() {
      const dataDir = join(tempDir(), 'data');
      if (dialect === 'sqlite') {
        const path = join(tempDir(), 'store.sqlite3');
        return {
          url: `sqlite:${path}`,
          dataDir,
          async query(text, params = []) {
            const db = new Database(path);
            try {
              return db.query(text).all(...(params as never[])) as Row[];
            } finally {
              db.close();
            }
          },
        };
      }
      const adminUrl = process.env[ENV_FOR[dialect]];
      if (!adminUrl) throw new Error(missingServer(dialect) ?? 'no server');
      const name = dbName();
      const url = withDatabase(adminUrl, name);
      if (dialect === 'postgres') {
        const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
        await admin.unsafe(`CREATE DATABASE ${name}`);
        await admin.end();
        const client = postgres(url, { max: 1, onnotice: () => {} });
        cleanups.push(async () => {
          await client.end();
          const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
          await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await a.end();
        });
        return {
          url,
          dataDir,
          async query(text, params = []) {
            let n = 0;
            const pgText = text.replace(/\?/g, () => `$${++n}`);
            return [...(await client.unsafe(pgText, params as never[]))] as Row[];
          },
        };
      }
      const admin = await mysql.createConnection({ uri: adminUrl });
      await admin.query(`CREATE DATABASE \`${name}\``);
      await admin.end();
      // dateStrings: see DATETIME exactly as stored, not as mysql2 would turn it into a Date
      const conn = await mysql.createConnection({ uri: url, timezone: 'Z', dateStrings: true });
      cleanups.push(async () => {
        await conn.end();
        const a = await mysql.createConnection({ uri: adminUrl });
        await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await a.end();
      });
      return {
        url,
        dataDir,
        async query(text, params = []) {
          const [rows] = await conn.query(text, params);
          return rows as Row[];
        },
      };
    },
    async cleanup() {
      // Run every step even when one fails, so one stuck database does not leave the rest behind.
      const failures: unknown[] = [];
      for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => failures.push(err));
      if (failures.length > 0) throw new AggregateError(failures, 'test database cleanup failed');
    },
  };
}

function withDatabase(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
