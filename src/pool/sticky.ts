// Session stickiness (STICKY_SESSIONS): which account a conversation last used, forgotten after an
// idle TTL and bounded in size. A Map keeps insertion order, so re-inserting on use makes the oldest
// binding the first one: eviction is O(1) and no timer is needed.

/** Conversations remembered at most: ~100 bytes each, so the map stays around 10 MB at worst. */
export const MAX_STICKY_SESSIONS = 100_000;

export interface StickyBindings {
  /** The account bound to `key`, if the binding has not idled out. */
  get(key: string): string | undefined;
  /** Binds (or re-binds) `key` to `accountId` and marks it used now. */
  set(key: string, accountId: string): void;
  readonly size: number;
}

export function createStickyBindings(opts: { ttlMs: number; now: () => number; max?: number }): StickyBindings {
  const max = opts.max ?? MAX_STICKY_SESSIONS;
  const bindings = new Map<string, { accountId: string; usedAt: number }>();

  /** Drops idle bindings from the old end (at most a few per call: they are ordered by last use). */
  function trim(now: number): void {
    for (const [key, b] of bindings) {
      if (bindings.size <= max && now - b.usedAt < opts.ttlMs) break;
      bindings.delete(key);
    }
  }

  return {
    get(key) {
      const now = opts.now();
      trim(now);
      return bindings.get(key)?.accountId;
    },
    set(key, accountId) {
      const now = opts.now();
      bindings.delete(key);
      bindings.set(key, { accountId, usedAt: now });
      trim(now);
    },
    get size() {
      return bindings.size;
    },
  };
}
