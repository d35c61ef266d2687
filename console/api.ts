// The console's calls to the admin API: same-origin fetch with the session cookie, the CSRF header on
// every call, admin-shaped errors turned into ApiError, and a 401 anywhere sending the user to login.

/** Sent on every call; the server requires it on cookie-authenticated mutating requests (CSRF defence). */
const CSRF_HEADER = 'x-q2api-csrf';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let onUnauthorized: () => void = () => {};
/** The app registers what a 401 does (show the login screen). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let field: string | undefined;
  try {
    const body = (await res.json()) as { detail?: unknown; error?: { message?: string; field?: string } | string };
    if (typeof body.error === 'object' && body.error?.message) message = body.error.message;
    else if (typeof body.detail === 'string') message = body.detail;
    field = typeof body.error === 'object' ? body.error.field : undefined;
  } catch {
    // not JSON: keep the status line
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(res.status, message, field, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

/** A raw call (for streams); the caller reads the body. Throws ApiError for non-2xx answers. */
export async function call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { [CSRF_HEADER]: '1' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && path !== '/v2/session') onUnauthorized();
    throw err;
  }
  return res;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await (await call(method, path, body)).json()) as T;
}

/** GET that answers null when the route does not exist (yet): screens then show "no data yet". */
export async function optional<T>(path: string): Promise<T | null> {
  try {
    return await api<T>('GET', path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 501)) return null;
    throw e;
  }
}

export interface Quota {
  remaining: number | null;
  limit: number | null;
  reset_at: string | null;
  checked_at?: string | null;
}

export interface Account {
  id: string;
  label: string | null;
  auth_method: 'idc' | 'social' | 'api_key';
  enabled: boolean;
  status: string;
  disabled_reason: string | null;
  cooldown_until: string | null;
  expires_at: string | null;
  last_refresh_time: string | null;
  last_refresh_status: string;
  success_count: number;
  error_count: number;
  last_used_at: string | null;
  last_error: string | null;
  priority: number;
  region: string | null;
  quota_reset_at: string | null;
  created_at: string | null;
  quota?: Quota | null;
  proxy?: string | null;
}

export interface StatsAccount {
  id: string;
  label: string | null;
  status: string;
  enabled: boolean;
  disabled_reason: string | null;
  cooldown_until: string | null;
  last_used_at?: string | null;
  last_error?: string | null;
  in_flight: number;
  success_count: number;
  error_count: number;
  quota: Quota | null;
}

export interface Stats {
  strategy: string;
  totals: { accounts: number; enabled: number; healthy: number; cooling_down: number; disabled: number; exhausted: number; in_flight: number };
  accounts: StatsAccount[];
}

export interface OverviewBucket {
  /** bucket start: epoch ms, epoch s or ISO text, whichever the server sends */
  t: number | string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
}

export interface Overview {
  window_s: number;
  buckets: OverviewBucket[];
  per_account: Array<{ id: string; label: string | null; requests: number; errors: number; in_flight: number }>;
}

export interface SessionInfo {
  authenticated: boolean;
  via: 'session' | 'bearer';
  expires_at: string | null;
  version: string;
  client_keys_required: boolean;
}

/** Every account, page by page (the API caps a page at 500). */
export async function listAccounts(): Promise<Account[]> {
  const out: Account[] = [];
  for (let offset = 0; ; ) {
    const page = await api<{ accounts: Account[]; total: number }>('GET', `/v2/accounts?limit=500&offset=${offset}`);
    out.push(...page.accounts);
    offset += page.accounts.length;
    if (page.accounts.length === 0 || offset >= page.total) return out;
  }
}
