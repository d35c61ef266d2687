CREATE TABLE "accounts" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"label" text,
	"clientId" text,
	"clientSecret" text,
	"refreshToken" text,
	"accessToken" text,
	"other" text,
	"last_refresh_time" timestamp (3) with time zone,
	"last_refresh_status" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"error_count" integer DEFAULT 0 NOT NULL,
	"success_count" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp (3) with time zone,
	"auth_method" text DEFAULT 'idc' NOT NULL,
	"region" text,
	"profile_arn" text,
	"disabled_reason" text,
	"cooldown_until" timestamp (3) with time zone,
	"last_used_at" timestamp (3) with time zone,
	"last_error" text,
	"priority" integer DEFAULT 0 NOT NULL,
	"quota_reset_at" timestamp (3) with time zone,
	"refresh_token_hash" varchar(64)
);
--> statement-breakpoint
CREATE TABLE "meta" (
	"key" varchar(64) PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "idx_accounts_enabled" ON "accounts" USING btree ("enabled");--> statement-breakpoint
CREATE INDEX "idx_accounts_created_at" ON "accounts" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_accounts_refresh_token_hash" ON "accounts" USING btree ("refresh_token_hash");