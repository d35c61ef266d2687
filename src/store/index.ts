// The storage layer's front door: open a store (connect, migrate, check MASTER_KEY), run migrations
// alone for `q2api migrate`, and resolve the key files kept in DATA_DIR.
import { type AccountRepository, createAccountRepository } from './accounts';
import { verifyMasterKey } from './canary';
import { createSealer } from './crypto';
import { connect, type Connection, type Dialect, parseDatabaseUrl } from './db';
import { SchemaOutdatedError } from './errors';
import { applyMigrations, type MigrationResult, pendingMigrations } from './migrate';
import {
  createLoginSessionRepository,
  createOidcClientRepository,
  type LoginSessionRepository,
  type OidcClientRepository,
} from './login-sessions';
import { createRefreshLeaseRepository, type RefreshLeaseRepository } from './refresh-leases';
import { createRequestLogRepository, type RequestLogRepository } from './request-log';
import { createUsageRepository, type UsageRepository } from './usage';

export type { Account, AccountChange, AccountPatch, AccountRepository, AuthMethod, DisabledReason, NewAccount } from './accounts';
export { AUTH_METHODS, DISABLED_REASONS, MAX_LAST_ERROR_LENGTH } from './accounts';
export { SEAL_VERSION, SealError } from './crypto';
export { type Dialect, parseDatabaseUrl } from './db';
export { DuplicateAccountError, MasterKeyMismatchError, SchemaOutdatedError } from './errors';
export { ADMIN_KEY_FILE, MASTER_KEY_FILE, type ResolvedAdminKey, type ResolvedMasterKey, resolveAdminKey, resolveMasterKey } from './keys';
export type { MigrationResult } from './migrate';
export type { CachedOidcClient, LoginSession, LoginSessionRepository, LoginStatus, NewLoginSession, OidcClientRepository } from './login-sessions';
export type { RefreshLeaseRepository, RefreshState } from './refresh-leases';
export type { RequestLogRepository, RequestLogRow } from './request-log';
export type { AccountStateCount, UsageGroup, UsageIncrement, UsageRepository, UsageRow } from './usage';

export interface Store {
  dialect: Dialect;
  accounts: AccountRepository;
  /** refresh lease and backoff columns of the accounts (token lifecycle) */
  refreshLeases: RefreshLeaseRepository;
  /** device-code login sessions (/v2/auth/*, `q2api login`) */
  loginSessions: LoginSessionRepository;
  /** cached OIDC client registrations */
  oidcClients: OidcClientRepository;
  /** daily usage per account and client key (GET /v2/usage), accounts by state (/metrics) */
  usage: UsageRepository;
  /** one row per chat request when REQUEST_LOG=db|both */
  requestLog: RequestLogRepository;
  /** true when the database answers within PING_TIMEOUT_MS; never throws */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  databaseUrl: string;
  dataDir: string;
  masterKey: Uint8Array;
  /** epoch ms for created_at / updated_at / last_used_at; default Date.now */
  clock?: () => number;
  /** apply pending migrations first (default true); when false, a schema behind the code is an error */
  migrate?: boolean;
}

/** A health check slower than this reports the database as down rather than stalling the probe. */
export const PING_TIMEOUT_MS = 2_000;

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const sealer = createSealer(opts.masterKey);
  const conn = await connect(parseDatabaseUrl(opts.databaseUrl, opts.dataDir));
  try {
    if (opts.migrate ?? true) await applyMigrations(conn);
    else {
      const pending = await pendingMigrations(conn);
      if (pending > 0) throw new SchemaOutdatedError(pending);
    }
    await verifyMasterKey(conn, sealer);
  } catch (err) {
    await conn.close();
    throw err;
  }
  const clock = opts.clock ?? Date.now;
  const accounts = createAccountRepository({ conn, sealer, clock });
  return {
    dialect: conn.dialect,
    accounts,
    refreshLeases: createRefreshLeaseRepository(conn),
    loginSessions: createLoginSessionRepository({ conn, sealer, clock }),
    oidcClients: createOidcClientRepository({ conn, sealer, clock }),
    usage: createUsageRepository(conn),
    requestLog: createRequestLogRepository(conn),
    ping: () => pingWithin(conn, PING_TIMEOUT_MS),
    async close() {
      // Successes are written behind (SUCCESS_FLUSH_MS): land them before the connection goes.
      await accounts.flush().catch(() => {});
      await conn.close();
    },
  };
}

/** For `q2api migrate`: connect, bring the schema up to date, disconnect. Needs no MASTER_KEY. */
export async function migrateOnly(opts: { databaseUrl: string; dataDir: string }): Promise<MigrationResult & { dialect: Dialect }> {
  const conn = await connect(parseDatabaseUrl(opts.databaseUrl, opts.dataDir));
  try {
    return { dialect: conn.dialect, ...(await applyMigrations(conn)) };
  } finally {
    await conn.close();
  }
}

async function pingWithin(conn: Connection, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([conn.ping().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
