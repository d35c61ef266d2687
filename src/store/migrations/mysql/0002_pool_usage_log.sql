CREATE TABLE `request_log` (
	`id` varchar(64) NOT NULL,
	`time` datetime(3) NOT NULL,
	`route` varchar(64) NOT NULL,
	`dialect` varchar(64) NOT NULL,
	`model_requested` text,
	`model_used` text,
	`account_id` varchar(64),
	`client_key` varchar(64),
	`status` int NOT NULL,
	`stop_reason` varchar(64),
	`input_tokens` int,
	`output_tokens` int,
	`ttfb_ms` int,
	`total_ms` int,
	`attempts` int NOT NULL DEFAULT 0,
	`detail` text,
	CONSTRAINT `request_log_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`day` varchar(10) NOT NULL,
	`account_id` varchar(64) NOT NULL,
	`client_key` varchar(64) NOT NULL,
	`requests` int NOT NULL DEFAULT 0,
	`errors` int NOT NULL DEFAULT 0,
	`input_tokens` bigint NOT NULL DEFAULT 0,
	`output_tokens` bigint NOT NULL DEFAULT 0,
	`credits` double NOT NULL DEFAULT 0,
	CONSTRAINT `usage_daily_day_account_id_client_key_pk` PRIMARY KEY(`day`,`account_id`,`client_key`)
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `proxy` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `quota_remaining` double;--> statement-breakpoint
ALTER TABLE `accounts` ADD `quota_limit` double;--> statement-breakpoint
ALTER TABLE `accounts` ADD `quota_checked_at` datetime(3);--> statement-breakpoint
CREATE INDEX `idx_request_log_time` ON `request_log` (`time`);