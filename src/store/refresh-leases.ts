// Refresh coordination state on the accounts table: a lease (owner + until) that one replica takes
// with a single conditional UPDATE before refreshing, and the backoff after transient failures.
import { and, asc, eq, isNotNull, isNull, lte, ne, or } from 'drizzle-orm';
import type { Connection } from './db';

export interface RefreshState {
  leaseOwner: string | null;
  leaseUntil: Date | null;
  /** consecutive transient refresh failures */
  failures: number;
  /** no automatic refresh before this time (backoff); null = any time */
  retryAt: Date | null;
}

export interface RefreshLeaseRepository {
  /**
   * Takes the refresh lease of one account when nobody holds it, it ran out, or `owner` holds it
   * already. Atomic (one conditional UPDATE), so of several replicas racing exactly one wins.
   */
  acquire(id: string, owner: string, until: Date, now: Date): Promise<boolean>;
  /** Gives the lease back and records the backoff state, only if `owner` still holds it. */
  release(id: string, owner: string, backoff?: { failures: number; retryAt: Date | null }): Promise<void>;
  state(id: string): Promise<RefreshState | null>;
  /**
   * Ids of enabled, refreshable accounts whose token is missing or expires before `horizon`, that are
   * neither backing off nor leased at `now`; soonest expiry first. A token of unknown lifetime is left
   * alone, as at selection time: the Q service's "invalid token" answer is what retires it.
   */
  listDue(horizon: Date, now: Date, limit: number): Promise<string[]>;
}

export function createRefreshLeaseRepository(conn: Connection): RefreshLeaseRepository {
  const { db } = conn;
  const t = conn.tables.accounts;
  const free = (now: Date) => or(isNull(t.refreshLeaseUntil), lte(t.refreshLeaseUntil, now));

  return {
    async acquire(id, owner, until, now) {
      const result = await db
        .update(t)
        .set({ refreshLeaseOwner: owner, refreshLeaseUntil: until })
        .where(and(eq(t.id, id), or(free(now), eq(t.refreshLeaseOwner, owner))));
      return conn.affected(result) > 0;
    },

    async release(id, owner, backoff) {
      await db
        .update(t)
        .set({
          refreshLeaseOwner: null,
          refreshLeaseUntil: null,
          ...(backoff ? { refreshFailures: backoff.failures, refreshRetryAt: backoff.retryAt } : {}),
        })
        .where(and(eq(t.id, id), eq(t.refreshLeaseOwner, owner)));
    },

    async state(id) {
      const [row] = await db
        .select({
          leaseOwner: t.refreshLeaseOwner,
          leaseUntil: t.refreshLeaseUntil,
          failures: t.refreshFailures,
          retryAt: t.refreshRetryAt,
        })
        .from(t)
        .where(eq(t.id, id));
      return row ?? null;
    },

    async listDue(horizon, now, limit) {
      const rows = await db
        .select({ id: t.id })
        .from(t)
        .where(
          and(
            eq(t.enabled, true),
            ne(t.authMethod, 'api_key'),
            isNotNull(t.refreshToken),
            or(isNull(t.accessToken), lte(t.expiresAt, horizon)),
            or(isNull(t.refreshRetryAt), lte(t.refreshRetryAt, now)),
            free(now),
          ),
        )
        .orderBy(asc(t.expiresAt), asc(t.id))
        .limit(limit);
      return rows.map((r) => r.id);
    },
  };
}
