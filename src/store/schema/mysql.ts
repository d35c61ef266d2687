// The accounts and meta tables for MySQL / MariaDB. Times are DATETIME(3) holding UTC wall-clock time
// (the connection uses timezone 'Z'). Property and column names match sqlite.ts and pg.ts exactly.
import { boolean, datetime, index, int, mysqlTable, text, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { AUTH_METHODS, DISABLED_REASONS, ID_MAX_LENGTH, META_KEY_MAX_LENGTH, TOKEN_HASH_LENGTH } from './enums';

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
