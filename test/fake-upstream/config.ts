// Runtime configuration of the fake upstream (upstream-protocol.md §6.1): defaults, and the
// validated patch applied by `configure()` / `POST /__fake/config` / `main.ts --config`.

export type RequireProfileArn = 'never' | 'social' | 'always';

export interface FakeConfig {
  /** lifetime of every access token the fake issues (OIDC, Kiro, seeded without expiresIn) */
  access_token_ttl_s: number;
  /** refresh grants return a new refresh token and invalidate the old one */
  refresh_rotates: boolean;
  /** a refresh also revokes the access token previously issued for that refresh token */
  revoke_old_on_refresh: boolean;
  require_profile_arn: RequireProfileArn;
  /** enforce §2.5 rules 1–6 and modelId ∈ known_models (+ hidden_models) */
  strict_requests: boolean;
  default_scenario: string;
  chunk_chars: number;
  event_gap_ms: number;
  /** listed by ListAvailableModels and accepted in strict mode */
  known_models: string[];
  /** accepted in strict mode but not listed (legacy internal ids, §2.8) */
  hidden_models: string[];
  /** polls answered `authorization_pending` before auto-approval; null = only manual approval */
  device_auto_approve_after_polls: number | null;
  device_code_ttl_s: number;
  device_poll_interval_s: number;
  client_ttl_s: number;
  /** delay before answering refresh grants / Kiro refreshToken (single-flight tests) */
  auth_delay_ms: number;
  /** let any non-empty bearer through (convenience for tests that do not care about auth) */
  accept_any_token: boolean;
  /** monthly credit limit reported by GetUsageLimits */
  usage_limit: number;
  /** seed of the fake's own random source (user codes, request ids, split=random default) */
  seed: number;
  max_recorded_requests: number;
  /** clock in epoch ms; injected so tests control expiry without sleeping */
  now: () => number;
}

/** Marketing model ids of §2.8 (listed and accepted). */
export const DEFAULT_KNOWN_MODELS: readonly string[] = [
  'auto',
  'claude-sonnet-4',
  'claude-3.7-sonnet',
  'claude-sonnet-4.5',
  'claude-haiku-4.5',
  'claude-opus-4.5',
  'claude-sonnet-4.6',
  'claude-opus-4.6',
];

/** Legacy internal ids of §2.8 that the real service still accepts without listing them. */
export const DEFAULT_HIDDEN_MODELS: readonly string[] = [
  'CLAUDE_3_7_SONNET_20250219_V1_0',
  'CLAUDE_SONNET_4_20250514_V1_0',
  'CLAUDE_SONNET_4_5_20250929_V1_0',
];

export function defaultConfig(): FakeConfig {
  return {
    access_token_ttl_s: 3600,
    refresh_rotates: true,
    revoke_old_on_refresh: false,
    require_profile_arn: 'never',
    strict_requests: false,
    default_scenario: 'plain',
    chunk_chars: 4,
    event_gap_ms: 0,
    known_models: [...DEFAULT_KNOWN_MODELS],
    hidden_models: [...DEFAULT_HIDDEN_MODELS],
    device_auto_approve_after_polls: 2,
    device_code_ttl_s: 600,
    device_poll_interval_s: 1,
    client_ttl_s: 90 * 86_400,
    auth_delay_ms: 0,
    accept_any_token: false,
    usage_limit: 50,
    seed: 1,
    max_recorded_requests: 1000,
    now: () => Date.now(),
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Checker = (value: unknown, key: string) => unknown;

const nonNegative: Checker = (v, k) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`${k} must be a number >= 0`);
  return v;
};
const positiveInt: Checker = (v, k) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${k} must be an integer >= 1`);
  return v;
};
const bool: Checker = (v, k) => {
  if (typeof v !== 'boolean') throw new ConfigError(`${k} must be a boolean`);
  return v;
};
const text: Checker = (v, k) => {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${k} must be a non-empty string`);
  return v;
};
const stringList: Checker = (v, k) => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) {
    throw new ConfigError(`${k} must be an array of non-empty strings`);
  }
  return [...v];
};

const CHECKERS: Record<Exclude<keyof FakeConfig, 'now'>, Checker> = {
  access_token_ttl_s: nonNegative,
  refresh_rotates: bool,
  revoke_old_on_refresh: bool,
  require_profile_arn: (v, k) => {
    if (v !== 'never' && v !== 'social' && v !== 'always') throw new ConfigError(`${k} must be never|social|always`);
    return v;
  },
  strict_requests: bool,
  default_scenario: text,
  chunk_chars: positiveInt,
  event_gap_ms: nonNegative,
  known_models: stringList,
  hidden_models: stringList,
  device_auto_approve_after_polls: (v, k) => (v === null ? null : nonNegative(v, k)),
  device_code_ttl_s: nonNegative,
  device_poll_interval_s: nonNegative,
  client_ttl_s: nonNegative,
  auth_delay_ms: nonNegative,
  accept_any_token: bool,
  usage_limit: nonNegative,
  seed: (v, k) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(`${k} must be an integer`);
    return v;
  },
  max_recorded_requests: positiveInt,
};

/**
 * Validates a patch and returns it typed. `now` is accepted only as a function (in-process);
 * JSON patches (admin API, config file) can never carry one. Unknown keys are rejected so a typo
 * in a test fails loudly instead of silently testing the default.
 */
export function validateConfigPatch(patch: unknown): Partial<FakeConfig> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new ConfigError('config patch must be a JSON object');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue; // `{ seed: undefined }` means "not given", as in spreads
    if (key === 'now') {
      if (typeof value !== 'function') throw new ConfigError('now must be a function returning epoch ms');
      out.now = value;
      continue;
    }
    const check = (CHECKERS as Record<string, Checker | undefined>)[key];
    if (!check) throw new ConfigError(`unknown config key: ${key}`);
    out[key] = check(value, key);
  }
  return out as Partial<FakeConfig>;
}

/** The JSON view of a config (everything but the clock). */
export function configToJson(config: FakeConfig): Omit<FakeConfig, 'now'> {
  const { now: _now, ...rest } = config;
  return { ...rest, known_models: [...rest.known_models], hidden_models: [...rest.hidden_models] };
}
