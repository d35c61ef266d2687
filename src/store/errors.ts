// Errors the store raises on purpose, and recognition of the drivers' unique-key violations
// (drizzle wraps driver errors in DrizzleQueryError; the original is on `cause`).

/** Another account already holds this refresh token (compared by its keyed hash). */
export class DuplicateAccountError extends Error {
  constructor(readonly existingId: string) {
    super(`an account with this refresh token already exists (id ${existingId})`);
    this.name = 'DuplicateAccountError';
  }
}

/** The database was sealed with another MASTER_KEY: refuse to start rather than hand out garbage. */
export class MasterKeyMismatchError extends Error {
  constructor(detail: string) {
    super(
      `MASTER_KEY does not match the key this database was sealed with (${detail}). ` +
        'Set MASTER_KEY to the original key (or restore DATA_DIR/master.key if it was generated); ' +
        'refusing to start, since every stored secret would be unreadable.',
    );
    this.name = 'MasterKeyMismatchError';
  }
}

/** The schema is behind the code and migrations were not allowed to run. */
export class SchemaOutdatedError extends Error {
  constructor(pending: number) {
    super(`the database schema is ${pending} migration(s) behind this version: run \`q2api migrate\``);
    this.name = 'SchemaOutdatedError';
  }
}

/** Deepest levels of `cause` we follow: drizzle wraps once; the margin covers a wrapper of ours. */
const MAX_CAUSE_DEPTH = 4;

/** True for a duplicate primary/unique key, on any of the three drivers. */
export function isUniqueViolation(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && typeof e === 'object' && e !== null; depth++) {
    const { code, errno } = e as { code?: unknown; errno?: unknown };
    if (code === '23505') return true; // PostgreSQL unique_violation
    if (code === 'ER_DUP_ENTRY' || errno === 1062) return true; // MySQL / MariaDB
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Error codes the three drivers use when the database cannot be reached or dropped the connection. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'CONNECT_TIMEOUT', // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'PROTOCOL_CONNECTION_LOST', // mysql2
  'SQLITE_BUSY',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  '57P01', // PostgreSQL admin_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
]);

/** True when `e` says the database is unreachable (a 503 for the caller), not that a query was wrong. */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (let err = e, depth = 0; err && typeof err === 'object' && depth < 4; depth++) {
    const code = (err as { code?: unknown; errno?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    err = (err as { cause?: unknown }).cause;
  }
  return false;
}
