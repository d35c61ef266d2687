CREATE TABLE `login_sessions` (
	`id` varchar(64) NOT NULL,
	`status` varchar(64) NOT NULL,
	`label` text,
	`enabled` boolean NOT NULL DEFAULT true,
	`region` varchar(64),
	`start_url` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret` text NOT NULL,
	`device_code` text NOT NULL,
	`user_code` varchar(64) NOT NULL,
	`verification_uri_complete` text NOT NULL,
	`interval_ms` int NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	`deadline_at` datetime(3) NOT NULL,
	`next_poll_at` datetime(3) NOT NULL,
	`poll_owner` varchar(64),
	`poll_until` datetime(3),
	`account_id` varchar(64),
	`error` text,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `login_sessions_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `oidc_clients` (
	`id` varchar(64) NOT NULL,
	`endpoint` text NOT NULL,
	`client_name` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret` text NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `oidc_clients_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_lease_owner` varchar(64);--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_lease_until` datetime(3);--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_failures` int DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_retry_at` datetime(3);--> statement-breakpoint
CREATE INDEX `idx_login_sessions_created_at` ON `login_sessions` (`created_at`);