// The accounts and meta tables for PostgreSQL. Times are `timestamp(3) with time zone` (an instant,
// millisecond precision like JS Date). Property and column names match sqlite.ts and mysql.ts exactly.
import { bigint, boolean, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core';
import {
  AUTH_METHODS,
  DISABLED_REASONS,
  ID_MAX_LENGTH,
  LOGIN_STATUSES,
  META_KEY_MAX_LENGTH,
  SHORT_VALUE_MAX_LENGTH,
  TOKEN_HASH_LENGTH,
} from './enums';

const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const accounts = pgTable(
  'accounts',
  {
    id: varchar('id', { length: ID_MAX_LENGTH }).primaryKey(),
    label: text('label'),
    // Python q2api created these unquoted, so PostgreSQL folded them to `clientid`; drizzle quotes
    // every identifier, so here they keep their camelCase.
    clientId: text('clientId'),
    clientSecret: text('clientSecret'),
    refreshToken: text('refreshToken'),
    accessToken: text('accessToken'),
    other: text('other'),
    lastRefreshTime: time('last_refresh_time'),
    lastRefreshStatus: text('last_refresh_status'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    enabled: boolean('enabled').notNull().default(true),
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
    refreshTokenHash: varchar('refresh_token_hash', { length: TOKEN_HASH_LENGTH }),
    // Token lifecycle (src/pool/lifecycle.ts): the refresh lease other replicas respect, and the
    // backoff after transient refresh failures.
    refreshLeaseOwner: varchar('refresh_lease_owner', { length: SHORT_VALUE_MAX_LENGTH }),
    refreshLeaseUntil: time('refresh_lease_until'),
    refreshFailures: integer('refresh_failures').notNull().default(0),
    refreshRetryAt: time('refresh_retry_at'),
    // Pool (src/pool): an optional per-account outbound proxy overriding HTTP_PROXY, and the last
    // GetUsageLimits reading (credits left of the limit; quota_reset_at holds the reset date).
    proxy: text('proxy'),
    quotaRemaining: doublePrecision('quota_remaining'),
    quotaLimit: doublePrecision('quota_limit'),
    quotaCheckedAt: time('quota_checked_at'),
  },
  (t) => [
    index('idx_accounts_enabled').on(t.enabled),
    index('idx_accounts_created_at').on(t.createdAt, t.id),
    uniqueIndex('uq_accounts_refresh_token_hash').on(t.refreshTokenHash),
  ],
);

export const meta = pgTable('meta', {
  key: varchar('key', { length: META_KEY_MAX_LENGTH }).primaryKey(),
  value: text('value').notNull(),
});

/** Device-code logins in progress (/v2/auth/*), shared by every replica; secrets sealed. */
export const loginSessions = pgTable(
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
    intervalMs: integer('interval_ms').notNull(),
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
export const oidcClients = pgTable('oidc_clients', {
  id: varchar('id', { length: ID_MAX_LENGTH }).primaryKey(),
  endpoint: text('endpoint').notNull(),
  clientName: text('client_name').notNull(),
  clientId: text('client_id').notNull(),
  clientSecret: text('client_secret').notNull(),
  expiresAt: time('expires_at').notNull(),
  createdAt: time('created_at').notNull(),
});

/** Per day, account and client key: what the usage API and console overview report (issue 8). */
export const usageDaily = pgTable(
  'usage_daily',
  {
    day: varchar('day', { length: 10 }).notNull(), // YYYY-MM-DD, UTC
    accountId: varchar('account_id', { length: ID_MAX_LENGTH }).notNull(), // '' when no account was reached
    clientKey: varchar('client_key', { length: SHORT_VALUE_MAX_LENGTH }).notNull(), // key name or hash prefix; '' in open mode
    requests: integer('requests').notNull().default(0),
    errors: integer('errors').notNull().default(0),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    credits: doublePrecision('credits').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.day, t.accountId, t.clientKey] })],
);

/** One row per chat request when REQUEST_LOG=db (no prompt text unless LOG_BODIES=true). */
export const requestLog = pgTable(
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
    status: integer('status').notNull(),
    stopReason: varchar('stop_reason', { length: SHORT_VALUE_MAX_LENGTH }),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    ttfbMs: integer('ttfb_ms'),
    totalMs: integer('total_ms'),
    attempts: integer('attempts').notNull().default(0),
    detail: text('detail'), // JSON: attempt reasons, error, bodies when LOG_BODIES=true
  },
  (t) => [index('idx_request_log_time').on(t.time)],
);
