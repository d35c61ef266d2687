// The accounts and meta tables for SQLite (bun:sqlite). Times are integer epoch milliseconds (UTC by
// definition), booleans 0/1. Property and column names match pg.ts and mysql.ts exactly.
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { AUTH_METHODS, DISABLED_REASONS, LOGIN_STATUSES } from './enums';

const time = (name: string) => integer(name, { mode: 'timestamp_ms' });

export const accounts = sqliteTable(
  'accounts',
  {
    id: text('id').primaryKey(),
    label: text('label'),
    // camelCase names are Python q2api's; drizzle quotes every identifier, so they keep their case.
    clientId: text('clientId'),
    clientSecret: text('clientSecret'),
    refreshToken: text('refreshToken'),
    accessToken: text('accessToken'),
    other: text('other'),
    lastRefreshTime: time('last_refresh_time'),
    lastRefreshStatus: text('last_refresh_status'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    errorCount: integer('error_count').notNull().default(0),
    successCount: integer('success_count').notNull().default(0),
    expiresAt: time('expires_at'),
    authMethod: text('auth_method', { enum: AUTH_METHODS }).notNull().default('idc'),
    region: text('region'),
    profileArn: text('profile_arn'),
    disabledReason: text('disabled_reason', { enum: DISABLED_REASONS }),
    cooldownUntil: time('cooldown_until'),
    lastUsedAt: time('last_used_at'),
    lastError: text('last_error'),
    priority: integer('priority').notNull().default(0),
    quotaResetAt: time('quota_reset_at'),
    refreshTokenHash: text('refresh_token_hash'),
    // Token lifecycle (src/pool/lifecycle.ts): the refresh lease other replicas respect, and the
    // backoff after transient refresh failures.
    refreshLeaseOwner: text('refresh_lease_owner'),
    refreshLeaseUntil: time('refresh_lease_until'),
    refreshFailures: integer('refresh_failures').notNull().default(0),
    refreshRetryAt: time('refresh_retry_at'),
    // Pool (src/pool): an optional per-account outbound proxy overriding HTTP_PROXY, and the last
    // GetUsageLimits reading (credits left of the limit; quota_reset_at holds the reset date).
    proxy: text('proxy'),
    quotaRemaining: real('quota_remaining'),
    quotaLimit: real('quota_limit'),
    quotaCheckedAt: time('quota_checked_at'),
  },
  (t) => [
    index('idx_accounts_enabled').on(t.enabled),
    index('idx_accounts_created_at').on(t.createdAt, t.id),
    uniqueIndex('uq_accounts_refresh_token_hash').on(t.refreshTokenHash),
  ],
);

export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});


/** Device-code logins in progress (/v2/auth/*), shared by every replica; secrets sealed. */
export const loginSessions = sqliteTable(
  'login_sessions',
  {
    id: text('id').primaryKey(),
    status: text('status', { enum: LOGIN_STATUSES }).notNull(),
    label: text('label'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    region: text('region'),
    startUrl: text('start_url').notNull(),
    clientId: text('client_id').notNull(),
    clientSecret: text('client_secret').notNull(),
    deviceCode: text('device_code').notNull(),
    userCode: text('user_code').notNull(),
    verificationUriComplete: text('verification_uri_complete').notNull(),
    intervalMs: integer('interval_ms').notNull(),
    expiresAt: time('expires_at').notNull(),
    deadlineAt: time('deadline_at').notNull(),
    nextPollAt: time('next_poll_at').notNull(),
    pollOwner: text('poll_owner'),
    pollUntil: time('poll_until'),
    accountId: text('account_id'),
    error: text('error'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [index('idx_login_sessions_created_at').on(t.createdAt)],
);

/** Cached OIDC client registrations (≈ 90 days each), reused by every device login. */
export const oidcClients = sqliteTable('oidc_clients', {
  id: text('id').primaryKey(),
  endpoint: text('endpoint').notNull(),
  clientName: text('client_name').notNull(),
  clientId: text('client_id').notNull(),
  clientSecret: text('client_secret').notNull(),
  expiresAt: time('expires_at').notNull(),
  createdAt: time('created_at').notNull(),
});

/** Per day, account and client key: what the usage API and console overview report (issue 8). */
export const usageDaily = sqliteTable(
  'usage_daily',
  {
    day: text('day').notNull(), // YYYY-MM-DD, UTC
    accountId: text('account_id').notNull(), // '' when no account was reached
    clientKey: text('client_key').notNull(), // key name or hash prefix; '' in open mode
    requests: integer('requests').notNull().default(0),
    errors: integer('errors').notNull().default(0),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    credits: real('credits').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.accountId, t.clientKey] })],
);

/** One row per chat request when REQUEST_LOG=db (no prompt text unless LOG_BODIES=true). */
export const requestLog = sqliteTable(
  'request_log',
  {
    id: text('id').primaryKey(),
    time: time('time').notNull(),
    route: text('route').notNull(),
    dialect: text('dialect').notNull(),
    modelRequested: text('model_requested'),
    modelUsed: text('model_used'),
    accountId: text('account_id'),
    clientKey: text('client_key'),
    status: integer('status').notNull(),
    stopReason: text('stop_reason'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    ttfbMs: integer('ttfb_ms'),
    totalMs: integer('total_ms'),
    attempts: integer('attempts').notNull().default(0),
    detail: text('detail'), // JSON: attempt reasons, error, bodies when LOG_BODIES=true
  },
  (t) => [index('idx_request_log_time').on(t.time)],
);
