// The accounts and meta tables for SQLite (bun:sqlite). Times are integer epoch milliseconds (UTC by
// definition), booleans 0/1. Property and column names match pg.ts and mysql.ts exactly.
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { AUTH_METHODS, DISABLED_REASONS } from './enums';

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

