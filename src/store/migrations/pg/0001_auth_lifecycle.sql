CREATE TABLE "login_sessions" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"status" varchar(64) NOT NULL,
	"label" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"region" varchar(64),
	"start_url" text NOT NULL,
	"client_id" text NOT NULL,
	"client_secret" text NOT NULL,
	"device_code" text NOT NULL,
	"user_code" varchar(64) NOT NULL,
	"verification_uri_complete" text NOT NULL,
	"interval_ms" integer NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"deadline_at" timestamp (3) with time zone NOT NULL,
	"next_poll_at" timestamp (3) with time zone NOT NULL,
	"poll_owner" varchar(64),
	"poll_until" timestamp (3) with time zone,
	"account_id" varchar(64),
	"error" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "oidc_clients" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"endpoint" text NOT NULL,
	"client_name" text NOT NULL,
	"client_id" text NOT NULL,
	"client_secret" text NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "refresh_lease_owner" varchar(64);--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "refresh_lease_until" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "refresh_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "refresh_retry_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "idx_login_sessions_created_at" ON "login_sessions" USING btree ("created_at");