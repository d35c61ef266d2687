CREATE TABLE "request_log" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"time" timestamp (3) with time zone NOT NULL,
	"route" varchar(64) NOT NULL,
	"dialect" varchar(64) NOT NULL,
	"model_requested" text,
	"model_used" text,
	"account_id" varchar(64),
	"client_key" varchar(64),
	"status" integer NOT NULL,
	"stop_reason" varchar(64),
	"input_tokens" integer,
	"output_tokens" integer,
	"ttfb_ms" integer,
	"total_ms" integer,
	"attempts" integer DEFAULT 0 NOT NULL,
	"detail" text
);
--> statement-breakpoint
CREATE TABLE "usage_daily" (
	"day" varchar(10) NOT NULL,
	"account_id" varchar(64) NOT NULL,
	"client_key" varchar(64) NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"credits" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_daily_day_account_id_client_key_pk" PRIMARY KEY("day","account_id","client_key")
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "proxy" text;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "quota_remaining" double precision;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "quota_limit" double precision;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "quota_checked_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "idx_request_log_time" ON "request_log" USING btree ("time");