CREATE TABLE `request_log` (
	`id` text PRIMARY KEY NOT NULL,
	`time` integer NOT NULL,
	`route` text NOT NULL,
	`dialect` text NOT NULL,
	`model_requested` text,
	`model_used` text,
	`account_id` text,
	`client_key` text,
	`status` integer NOT NULL,
	`stop_reason` text,
	`input_tokens` integer,
	`output_tokens` integer,
	`ttfb_ms` integer,
	`total_ms` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `idx_request_log_time` ON `request_log` (`time`);--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`day` text NOT NULL,
	`account_id` text NOT NULL,
	`client_key` text NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`credits` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `account_id`, `client_key`)
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `proxy` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `quota_remaining` real;--> statement-breakpoint
ALTER TABLE `accounts` ADD `quota_limit` real;--> statement-breakpoint
ALTER TABLE `accounts` ADD `quota_checked_at` integer;