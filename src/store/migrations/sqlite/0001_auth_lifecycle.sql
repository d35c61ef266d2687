CREATE TABLE `login_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`label` text,
	`enabled` integer DEFAULT true NOT NULL,
	`region` text,
	`start_url` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret` text NOT NULL,
	`device_code` text NOT NULL,
	`user_code` text NOT NULL,
	`verification_uri_complete` text NOT NULL,
	`interval_ms` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`deadline_at` integer NOT NULL,
	`next_poll_at` integer NOT NULL,
	`poll_owner` text,
	`poll_until` integer,
	`account_id` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_login_sessions_created_at` ON `login_sessions` (`created_at`);--> statement-breakpoint
CREATE TABLE `oidc_clients` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint` text NOT NULL,
	`client_name` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_lease_owner` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_lease_until` integer;--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_failures` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `refresh_retry_at` integer;