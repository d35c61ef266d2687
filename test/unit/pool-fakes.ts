// An in-memory account repository that counts every call, and a pool built on it with a manual
// clock and a scripted random source: selection is tested deterministically, and "selection never
// touches the database" is a count, not a timing.

import { parseConfig, type Env } from '../../src/config';
import type { AppContext, Random } from '../../src/context';
import { createLogger } from '../../src/log';
import { type AccountPool, createAccountPool } from '../../src/pool/pool';
import type { Store } from '../../src/store';
import type { Account, AccountChange, AccountPatch, AccountRepository, NewAccount } from '../../src/store/accounts';
import { manualClock, type ManualClock } from '../support/lifecycle-harness';

export const T0 = Date.UTC(2030, 4, 15, 12, 0, 0); // mid-month, so monthly resets are far away
const HOUR = 3_600_000;

export function makeAccount(id: string, over: Partial<Account> = {}): Account {
  return {
    id,
    label: id,
    clientId: null,
    clientSecret: null,
    refreshToken: `rt-${id}`,
    accessToken: `at-${id}`,
    other: null,
    lastRefreshTime: null,
    lastRefreshStatus: 'never',
    createdAt: new Date(T0 - HOUR),
    updatedAt: new Date(T0 - HOUR),
    enabled: true,
    errorCount: 0,
    successCount: 0,
    expiresAt: new Date(T0 + 24 * HOUR),
    authMethod: 'social',
    region: null,
    profileArn: null,
    disabledReason: null,
    cooldownUntil: null,
    lastUsedAt: null,
    lastError: null,
    priority: 0,
    quotaResetAt: null,
    proxy: null,
    quotaRemaining: null,
    quotaLimit: null,
    quotaCheckedAt: null,
    ...over,
  };
}

export interface FakeRepo extends AccountRepository {
  rows: Map<string, Account>;
  /** every repository call, by method name */
  calls: Record<string, number>;
  totalCalls(): number;
}

export function fakeRepo(clock: () => number, initial: Account[] = []): FakeRepo {
  const rows = new Map(initial.map((a) => [a.id, a]));
  const calls: Record<string, number> = {};
  const listeners = new Set<(c: AccountChange) => void>();
  const emit = (c: AccountChange) => listeners.forEach((l) => l(c));
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const sorted = () => [...rows.values()].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
  let next = 0;
  return {
    rows,
    calls,
    totalCalls: () => Object.values(calls).reduce((a, b) => a + b, 0),
    async create(input: NewAccount) {
      count('create');
      const a = makeAccount(`new-${++next}`, { ...input, createdAt: new Date(clock()), updatedAt: new Date(clock()) } as Partial<Account>);
      rows.set(a.id, a);
      emit({ type: 'upsert', account: a });
      return a;
    },
    async get(id) {
      count('get');
      return rows.get(id) ?? null;
    },
    async list() {
      count('list');
      const items = sorted();
      return { items, total: items.length };
    },
    async update(id, patch: AccountPatch) {
      count('update');
      const a = rows.get(id);
      if (!a) return null;
      const u: Account = { ...a, ...patch, updatedAt: new Date(clock()) } as Account;
      if (patch.enabled !== undefined && patch.disabledReason === undefined) u.disabledReason = patch.enabled ? null : 'manual';
      rows.set(id, u);
      emit({ type: 'upsert', account: u });
      return u;
    },
    async delete(id) {
      count('delete');
      const ok = rows.delete(id);
      if (ok) emit({ type: 'delete', id });
      return ok;
    },
    async findByRefreshToken(token) {
      count('findByRefreshToken');
      return [...rows.values()].find((a) => a.refreshToken === token) ?? null;
    },
    async countEnabled() {
      count('countEnabled');
      return [...rows.values()].filter((a) => a.enabled).length;
    },
    async recordSuccess(id) {
      count('recordSuccess');
      const a = rows.get(id);
      if (!a) return;
      const at = new Date(clock());
      rows.set(id, { ...a, successCount: a.successCount + 1, errorCount: 0, lastUsedAt: at, updatedAt: at });
      emit({ type: 'success', id, at });
    },
    async flush() {},
    async recordFailure(id, error, max) {
      count('recordFailure');
      const a = rows.get(id);
      if (!a) return null;
      const errorCount = a.errorCount + 1;
      const off = a.enabled && errorCount >= max;
      const u: Account = { ...a, errorCount, lastError: error, updatedAt: new Date(clock()), ...(off ? { enabled: false, disabledReason: 'too_many_errors' as const } : {}) };
      rows.set(id, u);
      emit({ type: 'upsert', account: u });
      return u;
    },
    async listVersions() {
      count('listVersions');
      return sorted().map((a) => ({ id: a.id, updatedAt: a.updatedAt }));
    },
    async getMany(ids) {
      count('getMany');
      return ids.flatMap((id) => rows.get(id) ?? []);
    },
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A random source replaying `values` in a loop (floats in [0, 1)). */
export function scriptedRandom(values: number[] = [0.5]): Random {
  let i = 0;
  let ids = 0;
  return {
    uuid: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    bytes: (n) => new Uint8Array(n),
    float: () => values[i++ % values.length]!,
  };
}

export interface PoolRig {
  pool: AccountPool;
  repo: FakeRepo;
  clock: ManualClock;
  logs: string[];
}

/** A pool over the fake repository; the store's other parts throw, so any use of them fails loudly. */
export function poolRig(accounts: Account[], env: Env = {}, random: Random = scriptedRandom()): PoolRig {
  const clock = manualClock(T0);
  const repo = fakeRepo(() => clock.now(), accounts);
  const untouchable = new Proxy({}, {
    get(_t, name) {
      throw new Error(`the pool touched store.${String(name)} during selection`);
    },
  });
  const store = { dialect: 'sqlite', accounts: repo, refreshLeases: untouchable, loginSessions: untouchable, oidcClients: untouchable } as unknown as Store;
  const logs: string[] = [];
  const deps = {
    config: parseConfig({ DATA_DIR: '/nonexistent', ...env }),
    log: createLogger('debug', (l) => logs.push(l), () => clock.now()),
    clock,
    random,
    store,
    upstream: { q: untouchable, oidc: untouchable, kiro: untouchable },
  } as unknown as Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'>;
  return { pool: createAccountPool(deps), repo, clock, logs };
}
