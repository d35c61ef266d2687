// The accounts and meta tables for MySQL / MariaDB. Times are DATETIME(3) holding UTC wall-clock time
// (the connection uses timezone 'Z'). Property and column names match sqlite.ts and pg.ts exactly.
import { bigint, boolean, datetime, double, index, int, mysqlTable, primaryKey, text, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import {
  AUTH_METHODS,
  DISABLED_REASONS,
  ID_MAX_LENGTH,
  LOGIN_STATUSES,
  META_KEY_MAX_LENGTH,
  SHORT_VALUE_MAX_LENGTH,
  TOKEN_HASH_LENGTH,
} from './enums';

const time = (name: string) => datetime(name, { mode: 'date', fsp: 3 });
/** Short closed-set columns: VARCHAR so they could be indexed (MySQL cannot index TEXT without a prefix). */
const SHORT_TEXT = 64;

export const accounts = mysqlTable(
  'accounts',
  {
    id: varchar('id', { length: ID_MAX_LENGTH }).primaryKey(),
    label: text('label'),
    clientId: text('clientId'),
    clientSecret: text('clientSecret'),
    refreshToken: text('refreshToken'),
    accessToken: text('accessToken'),
    other: text('other'),
    lastRefreshTime: time('last_refresh_time'),
    lastRefreshStatus: varchar('last_refresh_status', { length: SHORT_TEXT }),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    errorCount: int('error_count').notNull().default(0),
    successCount: int('success_count').notNull().default(0),
    expiresAt: time('expires_at'),
    authMethod: varchar('auth_method', { length: SHORT_TEXT, enum: AUTH_METHODS }).notNull().default('idc'),
    region: varchar('region', { length: SHORT_TEXT }),
    profileArn: text('profile_arn'),
    disabledReason: varchar('disabled_reason', { length: SHORT_TEXT, enum: DISABLED_REASONS }),
    cooldownUntil: time('cooldown_until'),
    lastUsedAt: time('last_used_at'),
    lastError: text('last_error'),
    priority: int('priority').notNull().default(0),
    quotaResetAt: time('quota_reset_at'),
    refreshTokenHash: varchar('refresh_token_hash', { length: TOKEN_HASH_LENGTH }),
    // Token lifecycle (src/pool/lifecycle.ts): the refresh lease other replicas respect, and the
    // backoff after transient refresh failures.
    refreshLeaseOwner: varchar('refresh_lease_owner', { length: SHORT_VALUE_MAX_LENGTH }),
    refreshLeaseUntil: time('refresh_lease_until'),
    refreshFailures: int('refresh_failures').notNull().default(0),
    refreshRetryAt: time('refresh_retry_at'),
    // Pool (src/pool): an optional per-account outbound proxy overriding HTTP_PROXY, and the last
    // GetUsageLimits reading (credits left of the limit; quota_reset_at holds the reset date).
    proxy: text('proxy'),
    quotaRemaining: double('quota_remaining'),
    quotaLimit: double('quota_limit'),
    quotaCheckedAt: time('quota_checked_at'),
  },
  (t) => [
    index('idx_accounts_enabled').on(t.enabled),
    index('idx_accounts_created_at').on(t.createdAt, t.id),
    uniqueIndex('uq_accounts_refresh_token_hash').on(t.refreshTokenHash),
  ],
);

export const meta = mysqlTable('meta', {
  key: varchar('key', { length: META_KEY_MAX_LENGTH }).primaryKey(),
  value: text('value').notNull(),
});

/** Device-code logins in progress (/v2/auth/*), shared by every replica; secrets sealed. */
export const loginSessions = mysqlTable(
  'login_sessions',
  {
    id: varchar('id', { length: ID_MAX_LENGTH }).primaryKey(),
    status: varchar('status', { length: SHORT_VALUE_MAX_LENGTH, enum: LOGIN_STATUSES }).notNull(),
    label: text('label'),
    enabled: boolean('enabled').notNull().default(true),
    region: varchar('region', { length: SHORT_VALUE_MAX_LENGTH }),
    startUrl: text('start_url').notNull(),
    clientId: text('client_id').notNull(),
    clientSecret: text('client_secret').notNull(),
    deviceCode: text('device_code').notNull(),
    userCode: varchar('user_code', { length: SHORT_VALUE_MAX_LENGTH }).notNull(),
    verificationUriComplete: text('verification_uri_complete').notNull(),
    intervalMs: int('interval_ms').notNull(),
    expiresAt: time('expires_at').notNull(),
    deadlineAt: time('deadline_at').notNull(),
    nextPollAt: time('next_poll_at').notNull(),
    pollOwner: varchar('poll_owner', { length: SHORT_VALUE_MAX_LENGTH }),
    pollUntil: time('poll_until'),
    accountId: varchar('account_id', { length: ID_MAX_LENGTH }),
    error: text('error'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [index('idx_login_sessions_created_at').on(t.createdAt)],
);

/** Cached OIDC client registrations (≈ 90 days each), reused by every device login. */
export const oidcClients = mysqlTable('oidc_clients', {
  id: varchar('id', { length: ID_MAX_LENGTH }).primaryKey(),
  endpoint: text('endpoint').notNull(),
  clientName: text('client_name').notNull(),
  clientId: text('client_id').notNull(),
  clientSecret: text('client_secret').notNull(),
  expiresAt: time('expires_at').notNull(),
  createdAt: time('created_at').notNull(),
});

/** Per day, account and client key: what the usage API and console overview report (issue 8). */
export const usageDaily = mysqlTable(
  'usage_daily',
  {
    day: varchar('day', { length: 10 }).notNull(), // YYYY-MM-DD, UTC
    accountId: varchar('account_id', { length: ID_MAX_LENGTH }).notNull(), // '' when no account was reached
    clientKey: varchar('client_key', { length: SHORT_VALUE_MAX_LENGTH }).notNull(), // key name or hash prefix; '' in open mode
    requests: int('requests').notNull().default(0),
    errors: int('errors').notNull().default(0),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    credits: double('credits').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.accountId, t.clientKey] })],
);

/** One row per chat request when REQUEST_LOG=db (no prompt text unless LOG_BODIES=true). */
export const requestLog = mysqlTable(
  'request_log',
  {
    id: varchar('id', { length: ID_MAX_LENGTH }).primaryKey(),
    time: time('time').notNull(),
    route: varchar('route', { length: SHORT_VALUE_MAX_LENGTH }).notNull(),
    dialect: varchar('dialect', { length: SHORT_VALUE_MAX_LENGTH }).notNull(),
    modelRequested: text('model_requested'),
    modelUsed: text('model_used'),
    accountId: varchar('account_id', { length: ID_MAX_LENGTH }),
    clientKey: varchar('client_key', { length: SHORT_VALUE_MAX_LENGTH }),
    status: int('status').notNull(),
    stopReason: varchar('stop_reason', { length: SHORT_VALUE_MAX_LENGTH }),
    inputTokens: int('input_tokens'),
    outputTokens: int('output_tokens'),
    ttfbMs: int('ttfb_ms'),
    totalMs: int('total_ms'),
    attempts: int('attempts').notNull().default(0),
    detail: text('detail'), // JSON: attempt reasons, error, bodies when LOG_BODIES=true
  },
  (t) => [index('idx_request_log_time').on(t.time)],
);
