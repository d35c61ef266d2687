// The account repository: Python q2api's accounts table plus pool state, with refresh token, client
// secret and access token sealed before they reach a row and opened only on the way out.
import { randomUUID } from 'node:crypto';
import { and, asc, count, desc, eq, isNull, lte, or, type SQL, sql } from 'drizzle-orm';
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
}

export type AccountPatch = Partial<Omit<Account, 'id' | 'createdAt' | 'updatedAt'>>;

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
  /** Enabled and not cooling down at `now`; highest priority first, then oldest. */
  listUsable(now: Date): Promise<Account[]>;
  /** success_count+1, error_count=0, last_used_at=now, in one atomic statement. */
  recordSuccess(id: string): Promise<void>;
  /** error_count+1 and last_error; disables with 'too_many_errors' on reaching maxErrorCount, atomically. */
  recordFailure(id: string, error: string, maxErrorCount: number): Promise<Account | null>;
}

/** Python q2api's status for an account never refreshed. */
const INITIAL_REFRESH_STATUS = 'never';
/** last_error keeps the start of an upstream error: enough to diagnose, bounded so one huge body
 *  cannot bloat every row read. */
export const MAX_LAST_ERROR_LENGTH = 2_000;

export type SealedColumn = 'clientSecret' | 'refreshToken' | 'accessToken';
const SEALED: readonly SealedColumn[] = ['clientSecret', 'refreshToken', 'accessToken'];
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
] as const satisfies readonly (keyof AccountPatch)[];

export function createAccountRepository(deps: { conn: Connection; sealer: Sealer; clock: () => number }): AccountRepository {
  const { conn, sealer, clock } = deps;
  const { db } = conn;
  const t = conn.tables.accounts;
  type Row = typeof t.$inferSelect;
  type RowPatch = Partial<typeof t.$inferInsert>;

  const now = () => new Date(clock());
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
    };
  }

  async function select(where: SQL | undefined): Promise<Row[]> {
    return db.select().from(t).where(where).orderBy(asc(t.createdAt), asc(t.id));
  }

  async function get(id: string): Promise<Account | null> {
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
        refreshTokenHash: hash,
      };
      await guardDuplicate(hash, id, () => db.insert(t).values(row));
      const created = await get(id);
      if (!created) throw new Error(`account ${id} vanished right after it was created`);
      return created;
    },

    get,

    async list(opts = {}) {
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
      return get(id);
    },

    async delete(id) {
      return conn.affected(await db.delete(t).where(eq(t.id, id))) > 0;
    },

    async findByRefreshToken(token) {
      const [row] = await select(eq(t.refreshTokenHash, sealer.hashRefreshToken(token)));
      return row ? toAccount(row) : null;
    },

    async countEnabled() {
      const [row] = await db.select({ n: count() }).from(t).where(eq(t.enabled, true));
      return Number(row?.n ?? 0);
    },

    async listUsable(at) {
      const rows = await db
        .select()
        .from(t)
        .where(and(eq(t.enabled, true), or(isNull(t.cooldownUntil), lte(t.cooldownUntil, at))))
        .orderBy(desc(t.priority), asc(t.createdAt), asc(t.id));
      return rows.map(toAccount);
    },

    async recordSuccess(id) {
      const at = now();
      await db
        .update(t)
        .set({ successCount: sql`${t.successCount} + 1`, errorCount: 0, lastUsedAt: at, updatedAt: at })
        .where(eq(t.id, id));
    },

    async recordFailure(id, error, maxErrorCount) {
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
      return get(id);
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
