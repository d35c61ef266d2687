// The one place environment variables are read: environment → one typed, validated, frozen Config.
// Names and defaults of the Python q2api are kept; a bad value stops start-up naming the variable.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Where the one-line-per-chat-request log goes (src/obs/request-log.ts). */
export type RequestLogMode = 'stdout' | 'db' | 'both' | 'off';
export type QDialect = 'rpc' | 'rest';
/** How the pool picks an account (src/pool/select.ts). */
export const ACCOUNT_STRATEGIES = ['random', 'round-robin', 'least-used', 'priority'] as const;
export type AccountStrategy = (typeof ACCOUNT_STRATEGIES)[number];

export interface Config {
  /** empty = SQLite at `${dataDir}/data.sqlite3`; `sqlite:PATH`, `postgres://…`, `mysql://…` */
  databaseUrl: string;
  /** client keys guarding /v1/*; empty = open (development mode) */
  openaiKeys: readonly string[];
  tokenCountMultiplier: number;
  /** raw MASTER_KEY text (validated: base64 or hex of ≥ 32 bytes); undefined = generate into dataDir */
  masterKey: Uint8Array | undefined;
  maxErrorCount: number;
  proxy: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
  enableConsole: boolean;
  port: number;
  host: string;
  dataDir: string;
  /** undefined = generate one on first start and keep it in dataDir */
  adminKey: string | undefined;
  logLevel: LogLevel;
  qEndpoint: string;
  qDialect: QDialect;
  oidcEndpoint: string;
  kiroAuthEndpoint: string;
  upstreamTimeouts: { connectMs: number; firstByteMs: number; idleMs: number };
  /** wrong admin keys one address may send per 5 minutes before it is locked out */
  adminMaxFailures: number;
  /** Q model id used when the client asks for a model we cannot map */
  defaultModel: string;
  /** client model name (lower-case) → Q model id, overriding the built-in table */
  modelMap: Readonly<Record<string, string>>;
  /** accounts one request may try before it fails */
  maxAttempts: number;
  /** largest request body accepted on /v1/* (413 beyond) */
  maxRequestBytes: number;
  /** memory for converted conversation history reused by the next request of a conversation; 0 = off */
  historyCacheBytes: number;
  /** image URLs in requests are fetched with these limits */
  imageFetch: { maxBytes: number; timeoutMs: number; allowPrivate: boolean };
  /** operations (src/obs): request log, metrics, shutdown */
  ops: {
    requestLog: RequestLogMode;
    /** request-log rows older than this many days are deleted (REQUEST_LOG=db|both) */
    requestLogDays: number;
    /** put request bodies and response text in the request log (never by default) */
    logBodies: boolean;
    /** /metrics without the admin key */
    metricsPublic: boolean;
    /** on SIGTERM, open streams get this long to finish before they end with an in-stream error */
    shutdownGraceMs: number;
  };
  /** token lifecycle (src/pool/lifecycle.ts) */
  refresh: {
    /** refresh an access token once less than this is left of it */
    aheadMs: number;
    /** pause between background sweeps (measured from the end of one to the start of the next) */
    sweepIntervalMs: number;
    /** refreshes one sweep runs at once */
    sweepConcurrency: number;
  };
  /** the account pool at run time (src/pool) */
  pool: {
    strategy: AccountStrategy;
    /** keep one conversation on one account while it stays available */
    stickySessions: boolean;
    /** a conversation idle this long forgets its account */
    stickyTtlMs: number;
    /** requests one account serves at once in this process; 0 = unlimited */
    maxConcurrency: number;
    /** the in-memory view re-reads the database this often (changes by other replicas or the CLI) */
    syncIntervalMs: number;
    /** each account's GetUsageLimits is read this often; 0 = only on demand */
    quotaPollMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Smallest admin key we accept: shorter ones are guessable by the rate-limited login (~1e6 tries a day). */
export const MIN_ADMIN_KEY_LENGTH = 12;
/** AES-256 needs 32 bytes; a longer key is cut to 32 bytes by HKDF in the store's crypto. */
export const MIN_MASTER_KEY_BYTES = 32;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Parses `env` (process.env merged with .env) into a Config, collecting every problem before failing. */
export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return dflt;
    if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return dflt;
    }
    return Number(raw);
  };

  const bool = (name: string, dflt: boolean): boolean => {
    const raw = get(name)?.toLowerCase();
    if (raw === undefined) return dflt;
    if (TRUE.has(raw)) return true;
    if (FALSE.has(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false (also 1/0, yes/no, on/off)`);
    return dflt;
  };

  const url = (name: string, dflt: string): string => {
    const raw = get(name) ?? dflt;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an http:// or https:// URL`);
      return dflt;
    }
  };

  const optionalProxy = (...names: string[]): string | undefined => {
    for (const name of names) {
      const raw = get(name);
      if (raw === undefined) continue;
      try {
        new URL(raw);
        return raw;
      } catch {
        problems.push(`${name}=${JSON.stringify(raw)}: expected a proxy URL such as http://127.0.0.1:7890`);
      }
    }
    return undefined;
  };

  const databaseUrl = get('DATABASE_URL') ?? '';
  if (databaseUrl && !/^(sqlite:|postgres:\/\/|postgresql:\/\/|mysql:\/\/)/i.test(databaseUrl)) {
    problems.push(
      `DATABASE_URL=${JSON.stringify(redactUrl(databaseUrl))}: expected empty (SQLite in DATA_DIR), sqlite:PATH, postgres://…, postgresql://… or mysql://…`,
    );
  }

  const openaiKeys = (get('OPENAI_KEYS') ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);

  let tokenCountMultiplier = 1.0;
  const tcm = get('TOKEN_COUNT_MULTIPLIER');
  if (tcm !== undefined) {
    const n = Number(tcm);
    if (!Number.isFinite(n) || n <= 0 || n > 100) {
      problems.push(`TOKEN_COUNT_MULTIPLIER=${JSON.stringify(tcm)}: expected a positive number such as 1.0`);
    } else tokenCountMultiplier = n;
  }

  let masterKey: Uint8Array | undefined;
  const mk = get('MASTER_KEY');
  if (mk !== undefined) {
    masterKey = decodeKeyMaterial(mk);
    if (!masterKey || masterKey.length < MIN_MASTER_KEY_BYTES) {
      problems.push(
        `MASTER_KEY: expected at least ${MIN_MASTER_KEY_BYTES} random bytes as hex (64+ hex digits) or base64 (44+ characters); generate one with: openssl rand -hex 32`,
      );
      masterKey = undefined;
    }
  }

  const adminKey = get('ADMIN_KEY') ?? get('ADMIN_PASSWORD');
  if (adminKey !== undefined && adminKey.length < MIN_ADMIN_KEY_LENGTH) {
    problems.push(
      `${get('ADMIN_KEY') !== undefined ? 'ADMIN_KEY' : 'ADMIN_PASSWORD'}: expected at least ${MIN_ADMIN_KEY_LENGTH} characters (leave it unset to have one generated)`,
    );
  }

  const logLevelRaw = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  let logLevel: LogLevel = 'info';
  if (logLevelRaw === 'debug' || logLevelRaw === 'info' || logLevelRaw === 'warn' || logLevelRaw === 'error') {
    logLevel = logLevelRaw;
  } else if (logLevelRaw === 'warning') logLevel = 'warn';
  else problems.push(`LOG_LEVEL=${JSON.stringify(logLevelRaw)}: expected debug, info, warn or error`);

  const dialectRaw = (get('Q_DIALECT') ?? 'rpc').toLowerCase();
  let qDialect: QDialect = 'rpc';
  if (dialectRaw === 'rpc' || dialectRaw === 'rest') qDialect = dialectRaw;
  else problems.push(`Q_DIALECT=${JSON.stringify(dialectRaw)}: expected rpc or rest`);

  const host = get('HOST') ?? '0.0.0.0';

  const strategyRaw = (get('ACCOUNT_STRATEGY') ?? 'random').toLowerCase().replace(/_/g, '-');
  let strategy: AccountStrategy = 'random';
  if ((ACCOUNT_STRATEGIES as readonly string[]).includes(strategyRaw)) strategy = strategyRaw as AccountStrategy;
  else problems.push(`ACCOUNT_STRATEGY=${JSON.stringify(strategyRaw)}: expected ${ACCOUNT_STRATEGIES.join(', ')}`);

  // 0 turns polling off; otherwise at least a minute, since the numbers move slowly and every poll
  // is one upstream call per account.
  const quotaPollS = int('QUOTA_POLL_S', 1800, 0, 7 * 86_400);
  if (quotaPollS > 0 && quotaPollS < 60) problems.push(`QUOTA_POLL_S=${quotaPollS}: expected 0 (off) or at least 60`);

  const requestLogRaw = (get('REQUEST_LOG') ?? 'stdout').toLowerCase();
  let requestLog: RequestLogMode = 'stdout';
  if (requestLogRaw === 'stdout' || requestLogRaw === 'db' || requestLogRaw === 'both' || requestLogRaw === 'off') requestLog = requestLogRaw;
  else problems.push(`REQUEST_LOG=${JSON.stringify(requestLogRaw)}: expected stdout, db, both or off`);

  const config: Config = {
    databaseUrl,
    openaiKeys,
    tokenCountMultiplier,
    masterKey,
    maxErrorCount: int('MAX_ERROR_COUNT', 100, 1, 1_000_000),
    proxy: {
      httpProxy: optionalProxy('HTTP_PROXY', 'http_proxy'),
      httpsProxy: optionalProxy('HTTPS_PROXY', 'https_proxy'),
      noProxy: get('NO_PROXY') ?? get('no_proxy'),
    },
    enableConsole: bool('ENABLE_CONSOLE', true),
    port: int('PORT', 8000, 0, 65535),
    host,
    dataDir: get('DATA_DIR') ?? './data',
    adminKey,
    logLevel,
    qEndpoint: url('Q_ENDPOINT', 'https://q.us-east-1.amazonaws.com'),
    qDialect,
    oidcEndpoint: url('OIDC_ENDPOINT', 'https://oidc.us-east-1.amazonaws.com'),
    kiroAuthEndpoint: url('KIRO_AUTH_ENDPOINT', 'https://prod.us-east-1.auth.desktop.kiro.dev'),
    adminMaxFailures: int('ADMIN_MAX_FAILURES', 10, 1, 1_000_000),
    defaultModel: get('DEFAULT_MODEL') ?? 'claude-sonnet-4.5',
    modelMap: parseModelMap(get('MODEL_MAP'), problems),
    maxAttempts: int('MAX_ATTEMPTS', 3, 1, 20),
    // Anthropic's own limit is 32 MB; a Claude Code session with images stays well below it.
    maxRequestBytes: int('MAX_REQUEST_BYTES', 32 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    // About 30 Claude Code–sized conversations (~150k tokens each) by the memo's own estimate, which
    // counts text at two bytes a character: the memory really used is less.
    historyCacheBytes: int('HISTORY_CACHE_MB', 128, 0, 65_536) * 1024 * 1024,
    imageFetch: {
      // Q accepts images up to 10 MiB each (Q CLI's limit).
      maxBytes: int('IMAGE_FETCH_MAX_BYTES', 10 * 1024 * 1024, 1024, 64 * 1024 * 1024),
      timeoutMs: int('IMAGE_FETCH_TIMEOUT_MS', 10_000, 100, 120_000),
      // Off by default: clients must not make the gateway fetch its own network (cloud metadata, LAN).
      allowPrivate: bool('IMAGE_FETCH_ALLOW_PRIVATE', false),
    },
    ops: {
      requestLog,
      // A month answers "what happened last week" at ~1 KB per request; longer belongs in a log store.
      requestLogDays: int('REQUEST_LOG_DAYS', 30, 1, 3650),
      logBodies: bool('LOG_BODIES', false),
      metricsPublic: bool('METRICS_PUBLIC', false),
      // Under Kubernetes' default terminationGracePeriodSeconds (30), leaving time to end the streams
      // still open and flush usage before the SIGKILL; most answers finish well within it.
      shutdownGraceMs: int('SHUTDOWN_GRACE_S', 25, 0, 3600) * 1000,
    },
    refresh: {
      // 5 minutes, as the issue asks: well before Q CLI's 1-minute margin, so one failed attempt still
      // leaves time for a retry; at most 30 minutes, since tokens live 1 hour and a longer lead time
      // would refresh every token on every sweep.
      aheadMs: int('REFRESH_AHEAD_S', 300, 60, 1800) * 1000,
      // A minute keeps every token inside the 5-minute window at least four sweeps before it expires.
      sweepIntervalMs: int('REFRESH_SWEEP_INTERVAL_S', 60, 1, 3600) * 1000,
      // Refreshes are cheap but the auth services throttle bursts; 4 at once clears 10,000 hourly
      // tokens (≈ 170 a minute) easily.
      sweepConcurrency: int('REFRESH_SWEEP_CONCURRENCY', 4, 1, 64),
    },
    pool: {
      strategy,
      stickySessions: bool('STICKY_SESSIONS', false),
      // An hour covers a coffee break in a coding session; the binding is only a preference anyway.
      stickyTtlMs: int('STICKY_TTL_S', 3600, 60, 7 * 86_400) * 1000,
      maxConcurrency: int('ACCOUNT_MAX_CONCURRENCY', 0, 0, 10_000),
      // 30 s bounds how long another replica's disable or cooldown goes unseen; a sync lists only
      // (id, updated_at) and re-reads the rows that changed, so it stays cheap with 10,000 accounts.
      syncIntervalMs: int('POOL_SYNC_S', 30, 1, 3600) * 1000,
      quotaPollMs: quotaPollS * 1000,
    },
    upstreamTimeouts: {
      // Q answers within seconds; a connect that takes longer means the host is unreachable.
      connectMs: int('UPSTREAM_CONNECT_TIMEOUT_MS', 10_000, 100, 600_000),
      // Large contexts can take a while before the first token; Q CLI waits up to 5 minutes.
      firstByteMs: int('UPSTREAM_FIRST_BYTE_TIMEOUT_MS', 120_000, 100, 600_000),
      // Q CLI's stalled-stream grace is 5 minutes; a silent stream longer than that is dead.
      idleMs: int('UPSTREAM_IDLE_TIMEOUT_MS', 300_000, 100, 3_600_000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/**
 * MODEL_MAP as JSON (`{"gpt-4o":"claude-sonnet-4.5"}`) or `from=to` pairs separated by commas.
 * Keys are matched case-insensitively.
 */
export function parseModelMap(raw: string | undefined, problems: string[]): Record<string, string> {
  if (raw === undefined) return {};
  const out: Record<string, string> = {};
  if (raw.startsWith('{')) {
    try {
      const obj = JSON.parse(raw) as unknown;
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not an object');
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v !== 'string' || !v) throw new Error(`value of ${k} is not a model id`);
        out[k.toLowerCase()] = v;
      }
      return out;
    } catch (e) {
      problems.push(`MODEL_MAP: expected a JSON object of model names to Q model ids (${(e as Error).message})`);
      return {};
    }
  }
  for (const pair of raw.split(',')) {
    const [from, to, extra] = pair.split('=').map((s) => s.trim());
    if (!from || !to || extra !== undefined) {
      problems.push(`MODEL_MAP: expected from=to pairs separated by commas, got ${JSON.stringify(pair)}`);
      return {};
    }
    out[from.toLowerCase()] = to;
  }
  return out;
}

/** Decodes hex or base64 (standard or url-safe) key text; undefined when it is neither. */
export function decodeKeyMaterial(text: string): Uint8Array | undefined {
  const s = text.trim();
  if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) return Uint8Array.from(Buffer.from(s, 'hex'));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) {
    const bytes = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length > 0 ? Uint8Array.from(bytes) : undefined;
  }
  return undefined;
}

/** Parses .env text (KEY=VALUE lines, # comments, optional quotes, `export ` prefix). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)?\s*$/.exec(line);
    if (!m) continue;
    let value = (m[2] ?? '').trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]!] = value;
  }
  return out;
}

/** process.env wins over .env, as with every dotenv loader. */
export function mergeEnv(processEnv: Env, dotenv: Record<string, string>): Env {
  return { ...dotenv, ...processEnv };
}

/** True when HOST only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** A database URL with its password replaced, for messages and logs. */
export function redactUrl(raw: string): string {
  return raw.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
