// The request log table (REQUEST_LOG=db|both): batched inserts that tolerate a retried batch, reads
// newest first, and pruning past REQUEST_LOG_DAYS.
import { desc, type SQL, sql } from 'drizzle-orm';
import type { Connection } from './db';
import { ID_MAX_LENGTH, SHORT_VALUE_MAX_LENGTH } from './schema/enums';

export interface RequestLogRow {
  id: string;
  time: Date;
  route: string;
  dialect: string;
  modelRequested: string | null;
  modelUsed: string | null;
  accountId: string | null;
  /** `key#<8 hex>` label, '' in open mode, null when no valid key was presented */
  clientKey: string | null;
  status: number;
  stopReason: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  ttfbMs: number | null;
  totalMs: number | null;
  attempts: number;
  /** JSON text: attempt reasons, error, bodies when LOG_BODIES=true */
  detail: string | null;
}

export interface RequestLogRepository {
  /** Inserts the rows; ids already present are skipped, so a batch retried after a lost reply is harmless. */
  insert(rows: readonly RequestLogRow[]): Promise<void>;
  /** Newest first. */
  list(opts?: { limit?: number }): Promise<RequestLogRow[]>;
  /** Deletes rows older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

/** Rows per INSERT: 16 columns × 100 stays far below every driver's parameter limit. */
export const REQUEST_LOG_INSERT_CHUNK = 100;
/** Client-chosen model names are free text: kept long enough to read, bounded so a row stays small. */
export const MAX_MODEL_NAME_LENGTH = 200;
/** Longest detail JSON kept (bodies with LOG_BODIES=true can be large); longer text is cut. */
export const MAX_DETAIL_LENGTH = 64 * 1024;
/** Largest page `list` returns. */
const MAX_LIST = 1000;

const COLUMNS = [
  'id',
  'time',
  'route',
  'dialect',
  'model_requested',
  'model_used',
  'account_id',
  'client_key',
  'status',
  'stop_reason',
  'input_tokens',
  'output_tokens',
  'ttfb_ms',
  'total_ms',
  'attempts',
  'detail',
] as const;

const cut = (v: string | null, max: number) => (v === null ? null : v.length <= max ? v : v.slice(0, max));
/** int columns: whole, non-negative, within a 32-bit signed int. */
const int = (v: number | null) => (v === null || !Number.isFinite(v) ? null : Math.min(2_147_483_647, Math.max(0, Math.round(v))));

export function createRequestLogRepository(conn: Connection): RequestLogRepository {
  const t = conn.tables.requestLog;
  const id = (name: string) => sql.identifier(name);

  function values(r: RequestLogRow): SQL {
    // The time goes through the column's own mapping: epoch ms on SQLite, timestamptz / DATETIME text elsewhere.
    return sql`(${cut(r.id, ID_MAX_LENGTH)}, ${sql.param(r.time, t.time)}, ${cut(r.route, SHORT_VALUE_MAX_LENGTH)}, ${cut(r.dialect, SHORT_VALUE_MAX_LENGTH)}, ${cut(r.modelRequested, MAX_MODEL_NAME_LENGTH)}, ${cut(r.modelUsed, MAX_MODEL_NAME_LENGTH)}, ${cut(r.accountId, ID_MAX_LENGTH)}, ${cut(r.clientKey, SHORT_VALUE_MAX_LENGTH)}, ${int(r.status) ?? 0}, ${cut(r.stopReason, SHORT_VALUE_MAX_LENGTH)}, ${int(r.inputTokens)}, ${int(r.outputTokens)}, ${int(r.ttfbMs)}, ${int(r.totalMs)}, ${int(r.attempts) ?? 0}, ${cut(r.detail, MAX_DETAIL_LENGTH)})`;
  }

  return {
    async insert(rows) {
      for (let i = 0; i < rows.length; i += REQUEST_LOG_INSERT_CHUNK) {
        const chunk = rows.slice(i, i + REQUEST_LOG_INSERT_CHUNK);
        const head = conn.dialect === 'mysql' ? sql`insert ignore into` : sql`insert into`;
        const tail = conn.dialect === 'mysql' ? sql`` : sql` on conflict (${id('id')}) do nothing`;
        await conn.run(
          sql`${head} ${t} (${sql.join(
            COLUMNS.map((c) => id(c)),
            sql`, `,
          )}) values ${sql.join(chunk.map(values), sql`, `)}${tail}`,
        );
      }
    },

    async list(opts = {}) {
      const limit = Math.max(0, Math.min(MAX_LIST, Math.floor(opts.limit ?? 100)));
      const rows = await conn.db.select().from(t).orderBy(desc(t.time), desc(t.id)).limit(limit);
      return rows;
    },

    async prune(before) {
      return conn.run(sql`delete from ${t} where ${id('time')} < ${sql.param(before, t.time)}`);
    },
  };
}
