// The account repository: Python q2api's accounts table plus pool state, with refresh token, client
// secret and access token sealed before they reach a row and opened only on the way out.
import { randomUUID } from 'node:crypto';
import { asc, count, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Sealer } from './crypto';
import type { Connection } from './db';
import { DuplicateAccountError, isUniqueViolation } from './errors';
import { AUTH_METHODS, type AuthMethod, DISABLED_REASONS, type DisabledReason } from './schema/enums';

export { AUTH_METHODS, DISABLED_REASONS, DuplicateAccountError };
export type { AuthMethod, DisabledReason };

/** One account, secrets decrypted: in memory only, never logged or returned unmasked. */
export interface Account {
  id: string;
  label: string | null;
  clientId: string | null;
  clientSecret: string | null;
  refreshToken: string | null;
  accessToken: string | null;
  other: Record<string, unknown> | null;
  lastRefreshTime: Date | null;
  lastRefreshStatus: string | null;
  createdAt: Date;
  updatedAt: Date;
  enabled: boolean;
  errorCount: number;
  successCount: number;
  expiresAt: Date | null;
  authMethod: AuthMethod;
  region: string | null;
  profileArn: string | null;
  disabledReason: DisabledReason | null;
  cooldownUntil: Date | null;
  lastUsedAt: Date | null;
  lastError: string | null;
  priority: number;
  quotaResetAt: Date | null;
  /** outbound proxy URL for this account's upstream calls (overrides HTTP(S)_PROXY); may hold credentials */
  proxy: string | null;
  /** credits left at the last GetUsageLimits reading (0 after a 402 until quotaResetAt) */
  quotaRemaining: number | null;
  quotaLimit: number | null;
  quotaCheckedAt: Date | null;
}

export interface NewAccount {
  label?: string | null;
  clientId?: string | null;
  clientSecret?: string | null;
  refreshToken?: string | null;
  accessToken?: string | null;
  other?: Record<string, unknown> | null;
  enabled?: boolean;
  expiresAt?: Date | null;
  authMethod?: AuthMethod;
  region?: string | null;
  profileArn?: string | null;
  priority?: number;
  /** this account's own outbound proxy (http:// or https://, credentials allowed) */
  proxy?: string | null;
}

export type AccountPatch = Partial<Omit<Account, 'id' | 'createdAt' | 'updatedAt'>>;

/** What a write through this repository did, for in-memory views kept in step (src/pool/view.ts). */
export type AccountChange =
  | { type: 'upsert'; account: Account }
  | { type: 'delete'; id: string }
  /** recordSuccess: success_count+1, error_count=0, last_used_at=updated_at=at (no re-read on the hot path) */
  | { type: 'success'; id: string; at: Date };

export interface AccountRepository {
  /** Throws DuplicateAccountError when another account has the same refresh token. */
  create(input: NewAccount): Promise<Account>;
  get(id: string): Promise<Account | null>;
  /** Ordered by created_at, then id. */
  list(opts?: { enabled?: boolean; limit?: number; offset?: number }): Promise<{ items: Account[]; total: number }>;
  /** Bumps updated_at, re-seals changed secrets, keeps the refresh-token hash in sync. Setting `enabled`
   *  without `disabledReason` clears the reason (true) or records 'manual' (false). Null when absent. */
  update(id: string, patch: AccountPatch): Promise<Account | null>;
  delete(id: string): Promise<boolean>;
  findByRefreshToken(token: string): Promise<Account | null>;
  countEnabled(): Promise<number>;
  /**
   * success_count+1, error_count=0, last_used_at=now. Written behind: successes are summed in memory
   * and written within SUCCESS_FLUSH_MS in one transaction, or before any other read or write made
   * through this repository, so what it returns always includes them.
   */
  recordSuccess(id: string): Promise<void>;
  /** Writes the successes booked but not yet written (the store's close calls it). */
  flush(): Promise<void>;
  /** error_count+1 and last_error; disables with 'too_many_errors' on reaching maxErrorCount, atomically. */
  recordFailure(id: string, error: string, maxErrorCount: number): Promise<Account | null>;
  /** Every account's id and updated_at, nothing else (cheap: no secrets opened), for in-memory views
   *  to find what changed or vanished since they last looked. */
  listVersions(): Promise<Array<{ id: string; updatedAt: Date }>>;
  /** The accounts with these ids that exist (any order). */
  getMany(ids: readonly string[]): Promise<Account[]>;
  /** Calls `listener` after every write made through this repository; returns the unsubscribe. */
  watch(listener: (change: AccountChange) => void): () => void;
}

/**
 * Successes are written at most this long after they happen (a crash loses at most this much of
 * the success counters, never an error or a state change): one write per request was the largest
 * single cost of a small request on SQLite, and a round trip each on PostgreSQL and MySQL.
 */
export const SUCCESS_FLUSH_MS = 1_000;

/** Python q2api's status for an account never refreshed. */
const INITIAL_REFRESH_STATUS = 'never';
/** last_error keeps the start of an upstream error: enough to diagnose, bounded so one huge body
 *  cannot bloat every row read. */
export const MAX_LAST_ERROR_LENGTH = 2_000;

// The proxy URL is sealed too: `http://user:password@host` carries credentials like any token.
export type SealedColumn = 'clientSecret' | 'refreshToken' | 'accessToken' | 'proxy';
const SEALED: readonly SealedColumn[] = ['clientSecret', 'refreshToken', 'accessToken', 'proxy'];
/** Associated data for a sealed value: its column and row, so a value copied elsewhere will not open. */
export const sealContext = (column: SealedColumn, id: string) => `accounts.${column}:${id}`;

/** Patch keys copied to the row as they are; secrets, `other` and `enabled` get their own handling. */
const PLAIN_PATCH_KEYS = [
  'label',
  'clientId',
  'lastRefreshTime',
  'lastRefreshStatus',
  'errorCount',
  'successCount',
  'expiresAt',
  'authMethod',
  'region',
  'profileArn',
  'disabledReason',
  'cooldownUntil',
  'lastUsedAt',
  'lastError',
  'priority',
  'quotaResetAt',
  'quotaRemaining',
  'quotaLimit',
  'quotaCheckedAt',
] as const satisfies readonly (keyof AccountPatch)[];

export function createAccountRepository(deps: { conn: Connection; sealer: Sealer; clock: () => number }): AccountRepository {
  const { conn, sealer, clock } = deps;
  const { db } = conn;
  const t = conn.tables.accounts;
  const sqliteRaw = conn.dialect === 'sqlite' ? conn.raw : undefined;
  const successStatement =
    sqliteRaw !== undefined
      ? sqliteRaw.prepare(
          'update accounts set success_count = success_count + ?, error_count = 0, last_used_at = ?, updated_at = ? where id = ?',
        )
      : undefined;
  // Write-behind of successes (SUCCESS_FLUSH_MS): per account, how many and the latest time.
  let pending = new Map<string, { n: number; at: Date }>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function writeSuccesses(batch: Map<string, { n: number; at: Date }>): Promise<void> {
    if (sqliteRaw !== undefined && successStatement !== undefined) {
      sqliteRaw.transaction(() => {
        for (const [id, { n, at }] of batch) successStatement.run(n, at.getTime(), at.getTime(), id);
      })();
      return;
    }
    const c = (column: { name: string }) => sql.identifier(column.name);
    for (const [id, { n, at }] of batch) {
      await conn.run(sql`update ${t} set ${c(t.successCount)} = ${c(t.successCount)} + ${n}, ${c(t.errorCount)} = 0,
        ${c(t.lastUsedAt)} = ${sql.param(at, t.lastUsedAt)}, ${c(t.updatedAt)} = ${sql.param(at, t.updatedAt)}
        where ${c(t.id)} = ${id}`);
    }
  }

  /** Writes what is pending; a batch that fails is merged back, to be retried by the next flush. */
  function flush(): Promise<void> {
    if (flushTimer !== undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    const run = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      try {
        await writeSuccesses(batch);
      } catch (err) {
        for (const [id, b] of batch) {
          const later = pending.get(id);
          pending.set(id, later ? { n: later.n + b.n, at: later.at } : b);
        }
        throw err;
      }
    });
    flushing = run.catch(() => {});
    return run;
  }

  /** Before any other statement: the successes booked so far land first, so order is kept. */
  const settle = (): Promise<void> | undefined => (pending.size > 0 ? flush() : undefined);

  type Row = typeof t.$inferSelect;
  type RowPatch = Partial<typeof t.$inferInsert>;

  const now = () => new Date(clock());
  const listeners = new Set<(change: AccountChange) => void>();
  const emit = (change: AccountChange) => {
    for (const l of listeners) {
      try {
        l(change);
      } catch {
        // a view's bookkeeping must never fail the write that already happened
      }
    }
  };
  const seal = (column: SealedColumn, id: string, value: string | null | undefined) =>
    value == null ? null : sealer.seal(value, sealContext(column, id));

  function toAccount(row: Row): Account {
    const open = (column: SealedColumn) => {
      const v = row[column];
      return v == null ? null : sealer.open(v, sealContext(column, row.id));
    };
    return {
      id: row.id,
      label: row.label,
      clientId: row.clientId,
      clientSecret: open('clientSecret'),
      refreshToken: open('refreshToken'),
      accessToken: open('accessToken'),
      other: parseOther(row.other),
      lastRefreshTime: row.lastRefreshTime,
      lastRefreshStatus: row.lastRefreshStatus,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      enabled: Boolean(row.enabled),
      errorCount: row.errorCount,
      successCount: row.successCount,
      expiresAt: row.expiresAt,
      authMethod: row.authMethod,
      region: row.region,
      profileArn: row.profileArn,
      disabledReason: row.disabledReason,
      cooldownUntil: row.cooldownUntil,
      lastUsedAt: row.lastUsedAt,
      lastError: row.lastError,
      priority: row.priority,
      quotaResetAt: row.quotaResetAt,
      proxy: open('proxy'),
      quotaRemaining: row.quotaRemaining,
      quotaLimit: row.quotaLimit,
      quotaCheckedAt: row.quotaCheckedAt,
    };
  }

  async function select(where: SQL | undefined): Promise<Row[]> {
    return db.select().from(t).where(where).orderBy(asc(t.createdAt), asc(t.id));
  }

  async function get(id: string): Promise<Account | null> {
    await settle();
    const [row] = await select(eq(t.id, id));
    return row ? toAccount(row) : null;
  }

  async function idByTokenHash(hash: string): Promise<string | null> {
    const [row] = await db.select({ id: t.id }).from(t).where(eq(t.refreshTokenHash, hash));
    return row?.id ?? null;
  }

  /** Runs a write that may hit the unique token-hash index, turning a collision into DuplicateAccountError
   *  (the pre-check catches the usual case; this catches two writers racing with the same token). */
  async function guardDuplicate(hash: string | null, selfId: string, write: () => Promise<unknown>): Promise<void> {
    if (hash !== null) {
      const existing = await idByTokenHash(hash);
      if (existing !== null && existing !== selfId) throw new DuplicateAccountError(existing);
    }
    try {
      await write();
    } catch (err) {
      if (hash === null || !isUniqueViolation(err)) throw err;
      const existing = await idByTokenHash(hash);
      if (existing === null || existing === selfId) throw err;
      throw new DuplicateAccountError(existing);
    }
  }

  return {
    async create(input) {
      await settle();
      if (input.authMethod !== undefined) assertOneOf('authMethod', input.authMethod, AUTH_METHODS);
      if (input.priority !== undefined) assertInteger('priority', input.priority);
      const id = randomUUID();
      const at = now();
      const hash = input.refreshToken == null ? null : sealer.hashRefreshToken(input.refreshToken);
      const enabled = input.enabled ?? true;
      const row: typeof t.$inferInsert = {
        id,
        label: input.label ?? null,
        clientId: input.clientId ?? null,
        clientSecret: seal('clientSecret', id, input.clientSecret),
        refreshToken: seal('refreshToken', id, input.refreshToken),
        accessToken: seal('accessToken', id, input.accessToken),
        other: input.other == null ? null : JSON.stringify(input.other),
        lastRefreshTime: null,
        lastRefreshStatus: INITIAL_REFRESH_STATUS,
        createdAt: at,
        updatedAt: at,
        enabled,
        errorCount: 0,
        successCount: 0,
        expiresAt: input.expiresAt ?? null,
        authMethod: input.authMethod ?? 'idc',
        region: input.region ?? null,
        profileArn: input.profileArn ?? null,
        disabledReason: enabled ? null : 'manual',
        priority: input.priority ?? 0,
        proxy: seal('proxy', id, input.proxy),
        refreshTokenHash: hash,
      };
      await guardDuplicate(hash, id, () => db.insert(t).values(row));
      const created = await get(id);
      if (!created) throw new Error(`account ${id} vanished right after it was created`);
      emit({ type: 'upsert', account: created });
      return created;
    },

    get,

    async list(opts = {}) {
      await settle();
      const where = opts.enabled === undefined ? undefined : eq(t.enabled, opts.enabled);
      let query = db.select().from(t).where(where).orderBy(asc(t.createdAt), asc(t.id)).$dynamic();
      if (opts.limit !== undefined) {
        assertInteger('limit', opts.limit, 0);
        query = query.limit(opts.limit);
      }
      if (opts.offset !== undefined && opts.offset > 0) {
        assertInteger('offset', opts.offset, 0);
        // MySQL accepts OFFSET only after a LIMIT.
        if (opts.limit === undefined) query = query.limit(Number.MAX_SAFE_INTEGER);
        query = query.offset(opts.offset);
      }
      const [rows, [totalRow]] = await Promise.all([query, db.select({ n: count() }).from(t).where(where)]);
      return { items: rows.map(toAccount), total: Number(totalRow?.n ?? 0) };
    },

    async update(id, patch) {
      await settle();
      const set: RowPatch = {};
      for (const key of PLAIN_PATCH_KEYS) {
        if (patch[key] !== undefined) (set as Record<string, unknown>)[key] = patch[key];
      }
      if (set.authMethod !== undefined) assertOneOf('authMethod', set.authMethod, AUTH_METHODS);
      if (set.disabledReason != null) assertOneOf('disabledReason', set.disabledReason, DISABLED_REASONS);
      for (const key of ['errorCount', 'successCount', 'priority'] as const) {
        if (set[key] !== undefined) assertInteger(key, set[key]);
      }
      for (const column of SEALED) {
        if (patch[column] !== undefined) set[column] = seal(column, id, patch[column]);
      }
      if (patch.other !== undefined) set.other = patch.other === null ? null : JSON.stringify(patch.other);
      if (patch.enabled !== undefined) {
        set.enabled = patch.enabled;
        if (patch.disabledReason === undefined) set.disabledReason = patch.enabled ? null : 'manual';
      }
      set.updatedAt = now();

      let hash: string | null = null;
      if (patch.refreshToken !== undefined) {
        hash = patch.refreshToken === null ? null : sealer.hashRefreshToken(patch.refreshToken);
        set.refreshTokenHash = hash;
      }
      await guardDuplicate(hash, id, () => db.update(t).set(set).where(eq(t.id, id)));
      const updated = await get(id);
      if (updated) emit({ type: 'upsert', account: updated });
      return updated;
    },

    async delete(id) {
      await settle();
      const deleted = conn.affected(await db.delete(t).where(eq(t.id, id))) > 0;
      if (deleted) emit({ type: 'delete', id });
      return deleted;
    },

    async findByRefreshToken(token) {
      await settle();
      const [row] = await select(eq(t.refreshTokenHash, sealer.hashRefreshToken(token)));
      return row ? toAccount(row) : null;
    },

    async countEnabled() {
      await settle();
      const [row] = await db.select({ n: count() }).from(t).where(eq(t.enabled, true));
      return Number(row?.n ?? 0);
    },

    async recordSuccess(id) {
      const at = now();
      const before = pending.get(id);
      pending.set(id, { n: (before?.n ?? 0) + 1, at });
      if (flushTimer === undefined) {
        flushTimer = setTimeout(() => {
          flushTimer = undefined;
          // A failed write stays pending: the next timer or statement retries it.
          flush().catch(() => {});
        }, SUCCESS_FLUSH_MS);
        flushTimer.unref?.();
      }
      emit({ type: 'success', id, at });
    },

    flush,

    async recordFailure(id, error, maxErrorCount) {
      await settle();
      assertInteger('maxErrorCount', maxErrorCount, 1);
      const c = (column: { name: string }) => sql.identifier(column.name);
      const reached = sql`${c(t.errorCount)} + 1 >= ${maxErrorCount}`;
      // Raw SQL because the order of SET matters: MySQL evaluates assignments left to right with the
      // values already assigned, PostgreSQL and SQLite with the old ones. Assigning each column before
      // the columns its expression reads makes all three agree (drizzle orders SET by schema order).
      await conn.run(sql`update ${t} set
        ${c(t.disabledReason)} = case when ${c(t.enabled)} and ${reached} then ${'too_many_errors'} else ${c(t.disabledReason)} end,
        ${c(t.enabled)} = case when ${reached} then ${sql.raw('false')} else ${c(t.enabled)} end,
        ${c(t.errorCount)} = ${c(t.errorCount)} + 1,
        ${c(t.lastError)} = ${error.slice(0, MAX_LAST_ERROR_LENGTH)},
        ${c(t.updatedAt)} = ${sql.param(now(), t.updatedAt)}
        where ${c(t.id)} = ${id}`);
      const updated = await get(id);
      if (updated) emit({ type: 'upsert', account: updated });
      return updated;
    },

    async listVersions() {
      await settle();
      return db.select({ id: t.id, updatedAt: t.updatedAt }).from(t);
    },

    async getMany(ids) {
      await settle();
      if (ids.length === 0) return [];
      return (await select(inArray(t.id, [...ids]))).map(toAccount);
    },

    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** `other` is JSON text; a row written by another tool may hold something else, kept rather than lost. */
function parseOther(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { raw: text };
  }
}

function assertOneOf<T extends string>(name: string, value: string, allowed: readonly T[]): asserts value is T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${name}=${JSON.stringify(value)}: expected one of ${allowed.join(', ')}`);
  }
}

function assertInteger(name: string, value: number, min = Number.MIN_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name}=${value}: expected a whole number ≥ ${min}`);
}
