// Pure account-input rules: what a new account must carry for its auth method, and how the credential
// files people already have (Kiro token files, proxy-style arrays, q2api exports) become new accounts.

import type { AuthMethod, NewAccount } from '../store/accounts';

/** A new account as it arrives over the wire: NewAccount's fields, with `expiresAt` as ISO text or epoch. */
export type AccountInput = Omit<NewAccount, 'expiresAt'> & { expiresAt?: string | number | null };

export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InputError';
  }
}

/** Longest credential we accept; real tokens are ~1–2 KB, so anything past this is not a token. */
export const MAX_SECRET_LENGTH = 16_384;
/** Accounts one import or batch call may carry: keeps one request's work and response bounded. */
export const MAX_BATCH = 1_000;
/** Longest proxy URL accepted: a host, port and credentials fit easily; more is not a proxy URL. */
export const MAX_PROXY_LENGTH = 2_048;

/**
 * A per-account proxy: http:// or https:// (the schemes Bun's fetch can proxy through), a host, no
 * path; credentials allowed. Empty or null means "none" (HTTP(S)_PROXY applies).
 */
export function parseProxy(v: unknown): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || (typeof v === 'string' && v.trim() === '')) return null;
  if (typeof v !== 'string') throw new InputError('proxy', 'expected a proxy URL such as http://user:pass@127.0.0.1:7890');
  const raw = v.trim();
  if (raw.length > MAX_PROXY_LENGTH) throw new InputError('proxy', `longer than ${MAX_PROXY_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InputError('proxy', 'expected a proxy URL such as http://user:pass@127.0.0.1:7890');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError('proxy', `scheme ${u.protocol} is not supported: use http:// or https://`);
  if (u.hostname === '') throw new InputError('proxy', 'the URL has no host');
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') throw new InputError('proxy', 'a proxy URL has no path, query or fragment');
  return raw.replace(/\/$/, '');
}

const PROFILE_ARN = /^arn:aws:codewhisperer:[a-z0-9-]+:\d{12}:profile\/[A-Za-z0-9]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

/** Parses an ISO-8601 text or epoch (seconds or ms) into a Date; undefined for "not given". */
export function parseTime(v: unknown, field: string): Date | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === '') return null;
  let d: Date;
  if (typeof v === 'number') d = new Date(v < 1e12 ? v * 1000 : v);
  else if (typeof v === 'string') d = /^\d+$/.test(v) ? new Date(Number(v) < 1e12 ? Number(v) * 1000 : Number(v)) : new Date(v);
  else throw new InputError(field, 'expected an ISO-8601 time or epoch seconds');
  if (Number.isNaN(d.getTime())) throw new InputError(field, 'expected an ISO-8601 time or epoch seconds');
  return d;
}

/** The auth method an input implies when it does not say: a client registration means IdC. */
export function inferAuthMethod(input: AccountInput): AuthMethod {
  if (input.authMethod) return input.authMethod;
  if (str(input.clientId) && str(input.clientSecret)) return 'idc';
  if (!str(input.refreshToken) && str(input.accessToken)?.startsWith('ksk_')) return 'api_key';
  return 'social';
}

/** Validates one account input into a NewAccount, naming the field at fault. */
export function toNewAccount(input: AccountInput): NewAccount {
  for (const f of ['clientId', 'clientSecret', 'refreshToken', 'accessToken'] as const) {
    const v = input[f];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new InputError(f, 'expected a string');
    if (typeof v === 'string' && v.length > MAX_SECRET_LENGTH) {
      throw new InputError(f, `longer than ${MAX_SECRET_LENGTH} characters`);
    }
  }
  const authMethod = inferAuthMethod(input);
  const clientId = str(input.clientId);
  const clientSecret = str(input.clientSecret);
  const refreshToken = str(input.refreshToken);
  const accessToken = str(input.accessToken);
  if (authMethod === 'idc') {
    if (!clientId) throw new InputError('clientId', 'required for an IdC / Builder ID account');
    if (!clientSecret) throw new InputError('clientSecret', 'required for an IdC / Builder ID account');
    if (!refreshToken) throw new InputError('refreshToken', 'required for an IdC / Builder ID account');
  } else if (authMethod === 'social') {
    if (!refreshToken) throw new InputError('refreshToken', 'required for a Kiro social (Google / GitHub) account');
  } else if (!accessToken) {
    throw new InputError('accessToken', 'required for an API-key account (the ksk_… key)');
  }
  const profileArn = str(input.profileArn);
  if (profileArn && !PROFILE_ARN.test(profileArn)) {
    throw new InputError('profileArn', 'expected arn:aws:codewhisperer:<region>:<12 digits>:profile/<ID>');
  }
  const region = str(input.region);
  if (region && !REGION.test(region)) throw new InputError('region', 'expected an AWS region such as us-east-1');
  if (input.other !== undefined && input.other !== null && (typeof input.other !== 'object' || Array.isArray(input.other))) {
    throw new InputError('other', 'expected a JSON object');
  }
  if (input.priority !== undefined && (!Number.isInteger(input.priority) || Math.abs(input.priority) > 1000)) {
    throw new InputError('priority', 'expected a whole number from -1000 to 1000');
  }
  return {
    label: str(input.label),
    clientId,
    clientSecret,
    refreshToken,
    accessToken,
    other: input.other ?? null,
    enabled: input.enabled ?? true,
    authMethod,
    region,
    profileArn,
    expiresAt: parseTime(input.expiresAt, 'expiresAt') ?? null,
    priority: input.priority ?? 0,
    proxy: parseProxy(input.proxy) ?? null,
  };
}

export interface ImportItem {
  /** where the entry came from, e.g. `accounts[3]` or `kiro-auth-token.json` */
  source: string;
  input?: AccountInput;
  error?: string;
}

function normaliseAuthMethod(v: unknown): AuthMethod | undefined {
  const s = typeof v === 'string' ? v.toLowerCase().replace(/[-_ ]/g, '') : '';
  if (s === 'social' || s === 'google' || s === 'github') return 'social';
  if (s === 'idc' || s === 'builderid' || s === 'iamidentitycenter' || s === 'enterprise') return 'idc';
  if (s === 'apikey') return 'api_key';
  return undefined;
}

/** One credential object of any known shape → AccountInput (camelCase Kiro, snake_case Q CLI, q2api rows). */
export function credentialToInput(obj: Record<string, unknown>, label?: string): AccountInput {
  const pick = (...keys: string[]): unknown => {
    for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
    return undefined;
  };
  // A Kiro IdC token file may carry its client registration nested or merged (§5.4).
  const reg = (pick('clientRegistration', 'registration') ?? {}) as Record<string, unknown>;
  const provider = str(pick('provider'));
  const other: Record<string, unknown> = {};
  if (provider) other.provider = provider;
  if (str(pick('machineId'))) other.machineId = pick('machineId');
  if (str(pick('startUrl', 'start_url'))) other.startUrl = pick('startUrl', 'start_url');
  const existingOther = pick('other');
  const otherObj =
    typeof existingOther === 'string'
      ? (() => {
          try {
            return JSON.parse(existingOther) as Record<string, unknown>;
          } catch {
            return {};
          }
        })()
      : ((existingOther as Record<string, unknown> | undefined) ?? {});
  const enabledRaw = pick('enabled');
  return {
    label: (str(pick('label', 'name', 'email')) ?? label ?? null) as string | null,
    clientId: (str(pick('clientId', 'client_id')) ?? str(reg.clientId)) as string | null,
    clientSecret: (str(pick('clientSecret', 'client_secret')) ?? str(reg.clientSecret)) as string | null,
    refreshToken: str(pick('refreshToken', 'refresh_token')),
    accessToken: str(pick('accessToken', 'access_token')),
    authMethod: normaliseAuthMethod(pick('authMethod', 'auth_method', 'oauth_flow')) ?? normaliseAuthMethod(provider),
    region: str(pick('region')),
    profileArn: str(pick('profileArn', 'profile_arn')),
    expiresAt: (pick('expiresAt', 'expires_at') as string | number | undefined) ?? undefined,
    enabled: enabledRaw === undefined ? undefined : enabledRaw === true || enabledRaw === 1 || enabledRaw === '1',
    proxy: (str(pick('proxy', 'proxyUrl', 'proxy_url')) ?? undefined) as string | undefined,
    other: Object.keys({ ...otherObj, ...other }).length ? { ...otherObj, ...other } : null,
  };
}

/**
 * Any import document → items: one credential object, an array of them, `{accounts:[…]}` (a q2api
 * export or batch), or `{files:[{name, content}]}` where a Kiro IdC token file and its
 * `<clientIdHash>.json` registration are matched up.
 */
export function parseImport(doc: unknown): ImportItem[] {
  if (Array.isArray(doc)) return doc.map((e, i) => one(e, `[${i}]`));
  if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    if (Array.isArray(o.accounts)) return o.accounts.map((e, i) => one(e, `accounts[${i}]`));
    if (Array.isArray(o.files)) return parseFiles(o.files);
    return [one(o, 'body')];
  }
  return [{ source: 'body', error: 'expected a JSON object or array of credentials' }];
}

function one(e: unknown, source: string): ImportItem {
  if (!e || typeof e !== 'object' || Array.isArray(e)) return { source, error: 'expected a JSON object' };
  return { source, input: credentialToInput(e as Record<string, unknown>) };
}

function parseFiles(files: unknown[]): ImportItem[] {
  const parsed: Array<{ name: string; body?: Record<string, unknown>; error?: string }> = files.map((f, i) => {
    const file = (f ?? {}) as { name?: unknown; content?: unknown };
    const name = typeof file.name === 'string' ? file.name : `files[${i}]`;
    let body: unknown = file.content;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        return { name, error: 'not valid JSON' };
      }
    }
    if (!body || typeof body !== 'object') return { name, error: 'expected JSON content' };
    return { name, body: body as Record<string, unknown> };
  });
  // Registrations are files with a clientId/clientSecret and no tokens; token files point at them by hash.
  const registrations = new Map<string, Record<string, unknown>>();
  for (const p of parsed) {
    if (p.body && p.body.clientId && p.body.clientSecret && !p.body.refreshToken && !p.body.accessToken) {
      registrations.set(p.name.replace(/^.*\//, '').replace(/\.json$/, ''), p.body);
    }
  }
  const items: ImportItem[] = [];
  for (const p of parsed) {
    if (p.error) items.push({ source: p.name, error: p.error });
    else if (p.body && registrations.get(p.name.replace(/^.*\//, '').replace(/\.json$/, '')) === p.body) continue;
    else if (Array.isArray(p.body)) items.push(...(p.body as unknown[]).map((e, i) => one(e, `${p.name}[${i}]`)));
    else if (p.body) {
      const hash = str(p.body.clientIdHash);
      const reg = hash ? registrations.get(hash) : undefined;
      const merged = reg ? { ...p.body, clientId: reg.clientId, clientSecret: reg.clientSecret } : p.body;
      items.push({ source: p.name, input: credentialToInput(merged) });
    }
  }
  return items;
}
