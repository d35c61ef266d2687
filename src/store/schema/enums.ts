// Closed value sets shared by the three dialect schemas and the account repository.
// Kept free of imports so drizzle-kit can load the schema files on their own.

/** How an account obtains access tokens: AWS IAM Identity Center (OIDC), Kiro social login, or a static key. */
export const AUTH_METHODS = ['idc', 'social', 'api_key'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** Why an account is disabled; null while it is enabled. */
export const DISABLED_REASONS = [
  'manual',
  'too_many_errors',
  'refresh_failed',
  'invalid_grant',
  'suspended',
  'quota',
] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

/** Longest id we store: a UUID is 36 characters; room is left for ids imported from elsewhere. */
export const ID_MAX_LENGTH = 64;
/** A hex SHA-256 HMAC is exactly 64 characters. */
export const TOKEN_HASH_LENGTH = 64;
/** Longest `meta` key; keys are short names chosen by this code. */
export const META_KEY_MAX_LENGTH = 64;

/** States of a device-code login session (/v2/auth/*); `pending` is the only one that changes. */
export const LOGIN_STATUSES = ['pending', 'completed', 'expired', 'denied', 'error'] as const;
export type LoginStatus = (typeof LOGIN_STATUSES)[number];
/** Longest stored status / user code / lease owner: all short values chosen by this code or AWS. */
export const SHORT_VALUE_MAX_LENGTH = 64;
