// Daily usage per account and client key (usage_daily): atomic upsert-increments from the usage
// recorder, grouped reads for GET /v2/usage, and the accounts-by-state count behind /metrics.
import { type SQL, sql } from 'drizzle-orm';
import type { Connection } from './db';

/** One (day, account, client key) cell and what to add to it. */
export interface UsageIncrement {
  /** YYYY-MM-DD, UTC */
  day: string;
  /** '' when the request reached no account */
  accountId: string;
  /** key label (`key#…`); '' in open mode */
  clientKey: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  credits: number;
}

export type UsageGroup = 'day' | 'account' | 'client_key';

/** A row of the usage API: the dimensions a grouping folded away are null. */
export interface UsageRow {
  day: string | null;
  account_id: string | null;
  client_key: string | null;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  credits: number;
}

export interface AccountStateCount {
  enabled: boolean;
  disabledReason: string | null;
  coolingDown: boolean;
  count: number;
}

export interface UsageRepository {
  /** Adds every increment in one atomic statement per chunk; two replicas adding to one cell both count. */
  add(increments: readonly UsageIncrement[]): Promise<void>;
  /** Sums over days from..to (inclusive, YYYY-MM-DD), grouped as asked (no group: per day, account and key). */
  query(opts: { from: string; to: string; group?: UsageGroup }): Promise<UsageRow[]>;
  /**
   * Accounts counted by enabled / disabled reason / cooling down at `now`: one GROUP BY, since listing
   * the accounts would open every sealed secret just to count them.
   */
  accountStates(now: Date): Promise<AccountStateCount[]>;
}

/** Rows per INSERT: far under every driver's parameter limit (8 columns × 200 = 1,600 < 32,766). */
export const USAGE_INSERT_CHUNK = 200;

const COLUMNS = ['day', 'account_id', 'client_key', 'requests', 'errors', 'input_tokens', 'output_tokens', 'credits'] as const;
const COUNTERS = ['requests', 'errors', 'input_tokens', 'output_tokens', 'credits'] as const;

export function createUsageRepository(conn: Connection): UsageRepository {
  const t = conn.tables.usageDaily;
  const accounts = conn.tables.accounts;
  const id = (name: string) => sql.identifier(name);

  /** The dialect's "add the new values to the existing row" clause. */
  function onConflict(): SQL {
    if (conn.dialect === 'mysql') {
      // VALUES() is deprecated in MySQL 8.0.20+ but the row-alias syntax that replaces it does not
      // exist in MariaDB; VALUES() works on both.
      return sql`on duplicate key update ${sql.join(
        COUNTERS.map((c) => sql`${id(c)} = ${id(c)} + values(${id(c)})`),
        sql`, `,
      )}`;
    }
    // PostgreSQL and SQLite share ON CONFLICT … DO UPDATE with the `excluded` pseudo-row. The old
    // value is qualified with the table name: an unqualified column would be ambiguous in PostgreSQL.
    return sql`on conflict (${id('day')}, ${id('account_id')}, ${id('client_key')}) do update set ${sql.join(
      COUNTERS.map((c) => sql`${id(c)} = ${id('usage_daily')}.${id(c)} + excluded.${id(c)}`),
      sql`, `,
    )}`;
  }

  return {
    async add(increments) {
      for (let i = 0; i < increments.length; i += USAGE_INSERT_CHUNK) {
        const chunk = increments.slice(i, i + USAGE_INSERT_CHUNK);
        const values = chunk.map(
          (r) =>
            sql`(${r.day}, ${r.accountId}, ${r.clientKey}, ${Math.round(r.requests)}, ${Math.round(r.errors)}, ${Math.round(r.inputTokens)}, ${Math.round(r.outputTokens)}, ${r.credits})`,
        );
        await conn.run(
          sql`insert into ${t} (${sql.join(
            COLUMNS.map((c) => id(c)),
            sql`, `,
          )}) values ${sql.join(values, sql`, `)} ${onConflict()}`,
        );
      }
    },

    async query({ from, to, group }) {
      const dims: Array<'day' | 'account_id' | 'client_key'> =
        group === 'day' ? ['day'] : group === 'account' ? ['account_id'] : group === 'client_key' ? ['client_key'] : ['day', 'account_id', 'client_key'];
      const sums = COUNTERS.map((c) => sql`sum(${id(c)}) as ${id(c)}`);
      const rows = await conn.all<Record<string, unknown>>(
        sql`select ${sql.join(
          [...dims.map((d) => id(d)), ...sums],
          sql`, `,
        )} from ${t} where ${id('day')} >= ${from} and ${id('day')} <= ${to} group by ${sql.join(
          dims.map((d) => id(d)),
          sql`, `,
        )} order by ${sql.join(
          dims.map((d) => id(d)),
          sql`, `,
        )}`,
      );
      const dim = (row: Record<string, unknown>, name: string) => (dims.includes(name as never) ? String(row[name] ?? '') : null);
      // Drivers return sums as strings (PostgreSQL numeric, MySQL DECIMAL) or numbers (SQLite).
      const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
      return rows.map((row) => ({
        day: dim(row, 'day'),
        account_id: dim(row, 'account_id'),
        client_key: dim(row, 'client_key'),
        requests: num(row.requests),
        errors: num(row.errors),
        input_tokens: num(row.input_tokens),
        output_tokens: num(row.output_tokens),
        credits: num(row.credits),
      }));
    },

    async accountStates(now) {
      const cooling = sql`case when ${id('cooldown_until')} is not null and ${id('cooldown_until')} > ${sql.param(now, accounts.cooldownUntil)} then 1 else 0 end`;
      // GROUP BY position: PostgreSQL would see the CASE twice with two different parameters.
      const rows = await conn.all<Record<string, unknown>>(
        sql`select ${id('enabled')} as enabled, ${id('disabled_reason')} as reason, ${cooling} as cooling, count(*) as n from ${accounts} group by 1, 2, 3`,
      );
      return rows.map((r) => ({
        enabled: r.enabled === true || Number(r.enabled) === 1,
        disabledReason: typeof r.reason === 'string' ? r.reason : null,
        coolingDown: Number(r.cooling) === 1,
        count: Number(r.n),
      }));
    },
  };
}
