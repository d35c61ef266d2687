// Keeps the in-memory view in step with the database: every write made through this process's
// repository lands at once (repository.watch), and a periodic sync picks up what other replicas and
// the CLI changed: it lists every account's (id, updated_at) — no secrets, milliseconds for 10,000
// rows — and re-reads only the rows whose updated_at differs from the view's, so it needs no clock
// agreement between replicas.

import type { AppContext } from '../context';
import type { AccountChange } from '../store/accounts';
import type { AccountView } from './view';

/** Changed rows are re-read in batches of this many ids (well inside every driver's bind limit). */
export const SYNC_BATCH = 500;
/** When selection finds no enabled account at all, the database is asked at most this often:
 *  a replica that just started, or accounts added elsewhere, must not wait for the next sync. */
export const EMPTY_SYNC_MIN_MS = 1_000;

export interface ViewSync {
  /** Loads the view on first use (later calls resolve at once; a failed load is retried). */
  ready(): Promise<void>;
  /** One sync now (joins one already running). */
  sync(): Promise<void>;
  /** Selection found no enabled account: sync once, rate-limited; true when a sync ran. */
  onEmpty(): Promise<boolean>;
  /** From the request path: a sync overdue by twice the interval starts in the background. */
  nudge(): void;
  close(): void;
}

type SyncDeps = Pick<AppContext, 'store' | 'clock' | 'log' | 'config'> & { view: AccountView };

export function createViewSync(deps: SyncDeps): ViewSync {
  const { store, clock, log, view } = deps;
  const repo = store.accounts;
  const intervalMs = deps.config.pool.syncIntervalMs;
  let loading: Promise<void> | null = null;
  let loaded = false;
  let running: Promise<void> | null = null;
  let lastSyncAt = 0;
  let lastEmptySyncAt = Number.NEGATIVE_INFINITY;

  const onChange = (change: AccountChange) => {
    if (change.type === 'upsert') view.upsert(change.account);
    else if (change.type === 'delete') view.remove(change.id);
    else {
      // updatedAt stays: it is the version of the row last read in full. The success write bumped the
      // row's updated_at without reading it back, so another replica's change that landed just before
      // would otherwise hide behind the new timestamp; the next sync re-reads the row instead.
      const at = change.at;
      view.patch(change.id, (a) => ({ ...a, successCount: a.successCount + 1, errorCount: 0, lastUsedAt: at }));
    }
  };
  const unwatch = repo.watch(onChange);

  async function load(): Promise<void> {
    const startSeq = view.seq;
    const { items } = await repo.list();
    // Accounts join the strategies' queues least recently used first, so a round-robin or
    // least-used rotation carries on across restarts instead of starting over.
    items.sort((x, y) => (x.lastUsedAt?.getTime() ?? 0) - (y.lastUsedAt?.getTime() ?? 0));
    for (const a of items) view.upsert(a, startSeq);
    lastSyncAt = clock.now();
  }

  async function syncOnce(): Promise<void> {
    // Local changes made after this point win over what the reads below return (view.upsert/remove).
    const startSeq = view.seq;
    const versions = await repo.listVersions();
    const alive = new Set<string>();
    const stale: string[] = [];
    for (const v of versions) {
      alive.add(v.id);
      const known = view.get(v.id)?.account.updatedAt.getTime();
      if (known !== v.updatedAt.getTime()) stale.push(v.id);
    }
    for (const e of [...view.entries()]) if (!alive.has(e.account.id)) view.remove(e.account.id, startSeq);
    for (let i = 0; i < stale.length; i += SYNC_BATCH) {
      for (const a of await repo.getMany(stale.slice(i, i + SYNC_BATCH))) view.upsert(a, startSeq);
    }
    lastSyncAt = clock.now();
  }

  function sync(): Promise<void> {
    running ??= syncOnce().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    ready() {
      if (loaded) return Promise.resolve();
      loading ??= load().then(
        () => {
          loaded = true;
        },
        (e: unknown) => {
          loading = null;
          throw e;
        },
      );
      return loading;
    },
    sync,
    async onEmpty() {
      const now = clock.now();
      if (now - lastEmptySyncAt < EMPTY_SYNC_MIN_MS) return false;
      lastEmptySyncAt = now;
      await sync();
      return true;
    },
    nudge() {
      if (!loaded || running || clock.now() - lastSyncAt < 2 * intervalMs) return;
      sync().catch((e: unknown) => log.warn('account view sync failed', { error: e }));
    },
    close() {
      unwatch();
    },
  };
}
