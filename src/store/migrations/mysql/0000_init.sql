CREATE TABLE `accounts` (
	`id` varchar(64) NOT NULL,
	`label` text,
	`clientId` text,
	`clientSecret` text,
	`refreshToken` text,
	`accessToken` text,
	`other` text,
	`last_refresh_time` datetime(3),
	`last_refresh_status` varchar(64),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`enabled` boolean NOT NULL DEFAULT true,
	`error_count` int NOT NULL DEFAULT 0,
	`success_count` int NOT NULL DEFAULT 0,
	`expires_at` datetime(3),
	`auth_method` varchar(64) NOT NULL DEFAULT 'idc',
	`region` varchar(64),
	`profile_arn` text,
	`disabled_reason` varchar(64),
	`cooldown_until` datetime(3),
	`last_used_at` datetime(3),
	`last_error` text,
	`priority` int NOT NULL DEFAULT 0,
	`quota_reset_at` datetime(3),
	`refresh_token_hash` varchar(64),
	CONSTRAINT `accounts_id` PRIMARY KEY(`id`),
	CONSTRAINT `uq_accounts_refresh_token_hash` UNIQUE(`refresh_token_hash`)
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` varchar(64) NOT NULL,
	`value` text NOT NULL,
	CONSTRAINT `meta_key` PRIMARY KEY(`key`)
);
--> statement-breakpoint
CREATE INDEX `idx_accounts_enabled` ON `accounts` (`enabled`);--> statement-breakpoint
CREATE INDEX `idx_accounts_created_at` ON `accounts` (`created_at`,`id`);