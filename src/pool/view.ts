// The pool's in-memory view of the accounts: every account with its run-time state (requests in
// flight, throttle streak), the ready index of the configured strategy, and a heap of accounts
// waiting for a time (cooldown end, quota reset). Selection reads only this, never the database;
// pool.ts keeps it in step with every write and with periodic syncs.

import type { AccountStrategy } from '../config';
import type { Account } from '../store/accounts';
import { coolingDown, quotaExhausted } from './account-state';
import { createIndexedHeap } from './heap';
import { createReadyIndex } from './select';

/** Why an account is not handed out right now (or that it is). */
export type EntryState = 'ready' | 'busy' | 'cooling' | 'exhausted' | 'held' | 'disabled';

export interface PoolEntry {
  account: Account;
  state: EntryState;
  /** requests this process is serving with the account */
  inFlight: number;
  /** throttles in a row (this process), for the growing backoff; a success resets it */
  throttleStreak: number;
  /** a selection-time token refresh failed: not picked again before this (local, not stored) */
  heldUntil: number;
  /** view sequence number of the last local change: a sync that began earlier must not undo it */
  seq: number;
}

export interface AccountView {
  readonly size: number;
  /** the latest local change number (a sync remembers it before it reads the database) */
  readonly seq: number;
  get(id: string): PoolEntry | undefined;
  entries(): IterableIterator<PoolEntry>;
  counts(): Readonly<Record<EntryState, number>>;
  inFlight(): number;
  /** Stores `account` as the latest truth; with `syncSeq`, only if no local change happened since. */
  upsert(account: Account, syncSeq?: number): void;
  /** Applies a change made in memory first (the row write follows). */
  patch(id: string, change: (a: Account) => Account): void;
  /** Forgets an account; with `syncSeq`, only if no local change happened since. */
  remove(id: string, syncSeq?: number): void;
  /** Moves accounts whose wait has passed back to ready. */
  wake(): void;
  /** The next account to hand out, per strategy, skipping what `skip` rejects. */
  pick(skip: (id: string) => boolean): string | undefined;
  isReady(id: string): boolean;
  /** One more request on `id` (may make it busy). */
  take(id: string): void;
  /** One request fewer on `id`. */
  give(id: string): void;
  /** Not picked before `untilMs` (local). */
  hold(id: string, untilMs: number): void;
  /** Earliest time a cooling / exhausted / held account comes back; undefined when none waits. */
  nextWake(): number | undefined;
}

export interface ViewOptions {
  strategy: AccountStrategy;
  /** 0 = unlimited */
  maxConcurrency: number;
  random: () => number;
  /** epoch ms, injected */
  now: () => number;
}

/** Fill-first order: higher priority first, then the oldest account (stable across restarts). */
function fillsBefore(a: Account, b: Account): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  const ta = a.createdAt.getTime();
  const tb = b.createdAt.getTime();
  if (ta !== tb) return ta < tb;
  return a.id < b.id;
}

export function createAccountView(opts: ViewOptions): AccountView {
  const entries = new Map<string, PoolEntry>();
  const counts: Record<EntryState, number> = { ready: 0, busy: 0, cooling: 0, exhausted: 0, held: 0, disabled: 0 };
  let seq = 0;
  let inFlightTotal = 0;
  const index = createReadyIndex(opts.strategy, {
    random: opts.random,
    load: (id) => entries.get(id)?.inFlight ?? 0,
    before: (a, b) => fillsBefore(entries.get(a)!.account, entries.get(b)!.account),
  });
  const waits = createIndexedHeap<{ id: string; at: number }>(
    (a, b) => a.at < b.at,
    (w) => w.id,
  );

  function stateOf(e: PoolEntry, nowMs: number): { state: EntryState; wakeAt?: number } {
    const a = e.account;
    if (!a.enabled) return { state: 'disabled' };
    const exhausted = quotaExhausted(a, nowMs);
    const resetAt = exhausted ? a.quotaResetAt?.getTime() : undefined;
    // Cooling wins the label; the account comes back when both waits are over.
    if (coolingDown(a, nowMs)) return { state: 'cooling', wakeAt: Math.max(a.cooldownUntil!.getTime(), resetAt ?? 0) };
    // Exhausted without a reset date (never stored by this code) waits for the next quota reading.
    if (exhausted) return resetAt === undefined ? { state: 'exhausted' } : { state: 'exhausted', wakeAt: resetAt };
    if (e.heldUntil > nowMs) return { state: 'held', wakeAt: e.heldUntil };
    if (opts.maxConcurrency > 0 && e.inFlight >= opts.maxConcurrency) return { state: 'busy' };
    return { state: 'ready' };
  }

  /** Re-files `e` after anything about it changed: index, wait heap, counters. */
  function evaluate(e: PoolEntry): void {
    const next = stateOf(e, opts.now());
    const id = e.account.id;
    if (next.state !== e.state) {
      counts[e.state]--;
      counts[next.state]++;
      if (e.state === 'ready') index.delete(id);
      if (next.state === 'ready') index.add(id);
      e.state = next.state;
    }
    if (next.wakeAt !== undefined) waits.push({ id, at: next.wakeAt });
    else waits.remove(id);
  }

  function drop(e: PoolEntry): void {
    const id = e.account.id;
    counts[e.state]--;
    if (e.state === 'ready') index.delete(id);
    waits.remove(id);
    inFlightTotal -= e.inFlight;
    entries.delete(id);
  }

  const touch = (e: PoolEntry) => (e.seq = ++seq);

  function wake(): void {
    const nowMs = opts.now();
    for (let w = waits.peek(); w !== undefined && w.at <= nowMs; w = waits.peek()) {
      waits.pop();
      const e = entries.get(w.id);
      if (e) evaluate(e);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    get seq() {
      return seq;
    },
    get: (id) => entries.get(id),
    entries: () => entries.values(),
    counts: () => counts,
    inFlight: () => inFlightTotal,

    upsert(account, syncSeq) {
      const e = entries.get(account.id);
      if (!e) {
        const fresh: PoolEntry = { account, state: 'disabled', inFlight: 0, throttleStreak: 0, heldUntil: 0, seq: 0 };
        counts.disabled++;
        entries.set(account.id, fresh);
        if (syncSeq === undefined) touch(fresh);
        evaluate(fresh);
        return;
      }
      if (syncSeq !== undefined && e.seq > syncSeq) return;
      const before = e.account;
      // A re-enabled account starts afresh, as its error count does.
      if (!before.enabled && account.enabled) {
        e.throttleStreak = 0;
        e.heldUntil = 0;
      }
      // Held for want of a token: a new token (an operator's refresh, another replica's) ends that.
      if (account.accessToken !== before.accessToken) e.heldUntil = 0;
      const reorder = e.state === 'ready' && (before.priority !== account.priority || before.createdAt.getTime() !== account.createdAt.getTime());
      if (reorder) index.delete(account.id);
      e.account = account;
      if (reorder) index.add(account.id);
      if (syncSeq === undefined) touch(e);
      evaluate(e);
    },

    patch(id, change) {
      const e = entries.get(id);
      if (!e) return;
      e.account = change(e.account);
      touch(e);
      evaluate(e);
    },

    remove(id, syncSeq) {
      const e = entries.get(id);
      if (!e || (syncSeq !== undefined && e.seq > syncSeq)) return;
      drop(e);
    },

    wake,

    pick(skip) {
      wake();
      return index.pick(skip);
    },

    isReady: (id) => entries.get(id)?.state === 'ready',

    take(id) {
      const e = entries.get(id);
      if (!e) return;
      e.inFlight++;
      inFlightTotal++;
      if (e.state === 'ready') index.picked(id);
      evaluate(e);
    },

    give(id) {
      const e = entries.get(id);
      if (!e || e.inFlight === 0) return;
      e.inFlight--;
      inFlightTotal--;
      if (e.state === 'ready') index.released(id);
      evaluate(e);
    },

    hold(id, untilMs) {
      const e = entries.get(id);
      if (!e) return;
      e.heldUntil = untilMs;
      evaluate(e);
    },

    nextWake: () => waits.peek()?.at,
  };
}
