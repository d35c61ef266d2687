// Control surface of the fake (§6.6): the in-process helpers and the /__fake/* HTTP API that
// mirrors them, both acting on the same FakeState.

import { ConfigError, configToJson, type FakeConfig } from './config';
import type { HttpRequest, HttpResponse } from './http';
import type { AuthMethod, SeedTokenInput } from './registry';
import { jsonObject } from './route';
import { parseQueueEntry, type FakeState, type FakeStats, type QueueEntry, type QueueEntryInput, type RecordedRequest } from './state';

export interface SeededToken {
  accessToken: string | null;
  refreshToken: string | null;
  /** epoch ms of the access token's expiry */
  expiresAt: number | null;
  account: string;
}

export interface FakeControl {
  /** clear tokens, clients, device codes, counters, queue, recordings, stats, usage; restore start-up config */
  reset(): void;
  configure(patch: Partial<FakeConfig>): FakeConfig;
  enqueue(entry: QueueEntryInput | QueueEntryInput[]): QueueEntry[];
  seedToken(token: SeedTokenInput): SeededToken;
  revoke(opts: { accessToken?: string; refreshToken?: string }): { accessTokens: number; refreshTokens: number };
  /** false if no pending device authorization has this user code */
  approveDevice(userCode: string): boolean;
  denyDevice(userCode: string): boolean;
  /** snapshots; `sinceSeq` keeps only requests with a larger seq */
  requests(sinceSeq?: number): RecordedRequest[];
  stats(): FakeStats;
}

function checkSeed(raw: unknown): SeedTokenInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('token must be an object');
  const t = raw as Record<string, unknown>;
  const out: SeedTokenInput = {};
  for (const key of ['accessToken', 'refreshToken', 'profileArn', 'clientId', 'clientSecret'] as const) {
    if (t[key] === undefined) continue;
    if (typeof t[key] !== 'string' || t[key] === '') throw new ConfigError(`${key} must be a non-empty string`);
    out[key] = t[key];
  }
  if (t.expiresIn !== undefined) {
    if (typeof t.expiresIn !== 'number' || !Number.isFinite(t.expiresIn)) throw new ConfigError('expiresIn must be a number of seconds');
    out.expiresIn = t.expiresIn;
  }
  if (t.authMethod !== undefined) {
    // Kiro files say "IdC"; proxies say "idc" or "builder-id" (§5.1).
    const m = String(t.authMethod).toLowerCase();
    if (m !== 'social' && m !== 'idc' && m !== 'builder-id') throw new ConfigError('authMethod must be social|idc');
    out.authMethod = (m === 'social' ? 'social' : 'idc') satisfies AuthMethod;
  }
  if (!out.accessToken && !out.refreshToken) throw new ConfigError('token needs accessToken and/or refreshToken');
  return out;
}

function decide(state: FakeState, userCode: string, to: 'approved' | 'denied'): boolean {
  const device = state.registry.deviceByUserCode(userCode);
  if (!device || device.status !== 'pending') return false;
  device.status = to;
  return true;
}

export function createControl(state: FakeState): FakeControl {
  return {
    reset: () => state.reset(),
    configure: (patch) => state.configure(patch),
    enqueue: (entry) => (Array.isArray(entry) ? entry : [entry]).map((e) => state.enqueue(parseQueueEntry(e))),
    seedToken: (token) => state.registry.seed(checkSeed(token)),
    revoke: (opts) => state.registry.revoke(opts),
    approveDevice: (userCode) => decide(state, userCode, 'approved'),
    denyDevice: (userCode) => decide(state, userCode, 'denied'),
    requests: (sinceSeq = 0) => structuredClone(state.recorded.filter((r) => r.seq > sinceSeq)),
    stats: () => structuredClone(state.stats),
  };
}

async function reply(res: HttpResponse, status: number, body: unknown): Promise<void> {
  await res.send(status, [['Content-Type', 'application/json']], JSON.stringify(body));
}

/** Admin routes answer JSON; bad input is a 400 with the reason, never a silent default. */
export async function handleAdmin(req: HttpRequest, res: HttpResponse, state: FakeState, control: FakeControl): Promise<void> {
  const route = `${req.method} ${req.path.slice('/__fake'.length)}`;
  const body = jsonObject(req.body) ?? (req.body.length === 0 ? {} : null);
  const parsedArray = (() => {
    try {
      const v: unknown = JSON.parse(new TextDecoder().decode(req.body));
      return Array.isArray(v) ? v : null;
    } catch {
      return null;
    }
  })();
  try {
    switch (route) {
      case 'GET /health':
        return await reply(res, 200, { ok: true });
      case 'POST /reset':
        control.reset();
        return await reply(res, 200, { ok: true });
      case 'GET /config':
        return await reply(res, 200, configToJson(state.config));
      case 'POST /config':
        if (!body) throw new ConfigError('config patch must be a JSON object');
        return await reply(res, 200, configToJson(state.configure(body)));
      case 'GET /queue':
        return await reply(res, 200, state.queue);
      case 'POST /queue': {
        const entries = parsedArray ?? (body && Array.isArray(body.entries) ? body.entries : body ? [body] : null);
        if (!entries) throw new ConfigError('queue body must be an entry, an array of entries, or {"entries":[…]}');
        return await reply(res, 200, { queued: control.enqueue(entries as QueueEntryInput[]) });
      }
      case 'POST /tokens': {
        const tokens = parsedArray ?? (body ? [body] : null);
        if (!tokens) throw new ConfigError('tokens body must be a token object or an array of them');
        const seeded = tokens.map((t) => control.seedToken(t as SeedTokenInput));
        return await reply(res, 200, parsedArray ? { tokens: seeded } : seeded[0]);
      }
      case 'POST /tokens/revoke': {
        if (!body) throw new ConfigError('revoke body must be {"accessToken"?, "refreshToken"?}');
        const opts: { accessToken?: string; refreshToken?: string } = {};
        if (typeof body.accessToken === 'string') opts.accessToken = body.accessToken;
        if (typeof body.refreshToken === 'string') opts.refreshToken = body.refreshToken;
        return await reply(res, 200, control.revoke(opts));
      }
      case 'POST /device/approve':
      case 'POST /device/deny': {
        const userCode = body && typeof body.userCode === 'string' ? body.userCode : null;
        if (!userCode) throw new ConfigError('body must be {"userCode": "ABCD-EFGH"}');
        const ok = route.endsWith('approve') ? control.approveDevice(userCode) : control.denyDevice(userCode);
        return await reply(res, ok ? 200 : 404, ok ? { ok: true } : { error: `no pending device authorization for ${userCode}` });
      }
      case 'GET /requests':
        return await reply(res, 200, control.requests(Number(req.query.get('since') ?? 0) || 0));
      case 'GET /stats':
        return await reply(res, 200, control.stats());
      default:
        return await reply(res, 404, { error: `no admin route ${route}` });
    }
  } catch (err) {
    if (err instanceof ConfigError) return reply(res, 400, { error: err.message });
    throw err;
  }
}
