CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`label` text,
	`clientId` text,
	`clientSecret` text,
	`refreshToken` text,
	`accessToken` text,
	`other` text,
	`last_refresh_time` integer,
	`last_refresh_status` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`error_count` integer DEFAULT 0 NOT NULL,
	`success_count` integer DEFAULT 0 NOT NULL,
	`expires_at` integer,
	`auth_method` text DEFAULT 'idc' NOT NULL,
	`region` text,
	`profile_arn` text,
	`disabled_reason` text,
	`cooldown_until` integer,
	`last_used_at` integer,
	`last_error` text,
	`priority` integer DEFAULT 0 NOT NULL,
	`quota_reset_at` integer,
	`refresh_token_hash` text
);
--> statement-breakpoint
CREATE INDEX `idx_accounts_enabled` ON `accounts` (`enabled`);--> statement-breakpoint
CREATE INDEX `idx_accounts_created_at` ON `accounts` (`created_at`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `uq_accounts_refresh_token_hash` ON `accounts` (`refresh_token_hash`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
