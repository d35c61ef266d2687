// Device-code login sessions and cached OIDC client registrations, in the database so that start,
// status and claim may reach different replicas. Device codes and client secrets are sealed.
import { and, eq, isNull, lt, lte, ne, or } from 'drizzle-orm';
import type { Sealer } from './crypto';
import type { Connection } from './db';
import { isUniqueViolation } from './errors';
import { LOGIN_STATUSES, type LoginStatus } from './schema/enums';

export { LOGIN_STATUSES, type LoginStatus };

/** One login session, secrets opened: in memory only. */
export interface LoginSession {
  id: string;
  status: LoginStatus;
  label: string | null;
  /** whether the account it creates starts enabled */
  enabled: boolean;
  region: string | null;
  startUrl: string;
  clientId: string;
  clientSecret: string;
  deviceCode: string;
  userCode: string;
  verificationUriComplete: string;
  /** current polling interval (grows by 5 s on every slow_down) */
  intervalMs: number;
  /** when the device code dies */
  expiresAt: Date;
  /** when claims give up: start + min(device code lifetime, 5 minutes) */
  deadlineAt: Date;
  /** the token endpoint is not polled before this */
  nextPollAt: Date;
  /** the replica polling right now, and until when that poll may take */
  pollOwner: string | null;
  pollUntil: Date | null;
  accountId: string | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewLoginSession = Pick<
  LoginSession,
  | 'id'
  | 'label'
  | 'enabled'
  | 'region'
  | 'startUrl'
  | 'clientId'
  | 'clientSecret'
  | 'deviceCode'
  | 'userCode'
  | 'verificationUriComplete'
  | 'intervalMs'
  | 'expiresAt'
  | 'deadlineAt'
  | 'nextPollAt'
>;

export interface LoginSessionRepository {
  create(input: NewLoginSession): Promise<LoginSession>;
  get(id: string): Promise<LoginSession | null>;
  /**
   * The right to poll the token endpoint once: granted (one conditional UPDATE) only while the session
   * is pending, its next poll is due and nobody else is polling, so replicas never poll twice at once
   * and only one of them can ever receive the tokens.
   */
  takePoll(id: string, owner: string, until: Date, now: Date): Promise<boolean>;
  /** After a poll that settled nothing: when to poll next, the interval now in force, the last transient error. */
  reschedule(id: string, owner: string, next: { intervalMs: number; nextPollAt: Date; error: string | null }): Promise<void>;
  /**
   * Ends a session. `completed` always wins (the account exists, so the session must name it); any
   * other end only replaces `pending`. False when nothing changed.
   */
  finish(id: string, end: { status: Exclude<LoginStatus, 'pending'>; accountId?: string; error?: string }): Promise<boolean>;
  /** Forgets sessions created before `before`; returns how many. */
  deleteCreatedBefore(before: Date): Promise<number>;
}

export interface CachedOidcClient {
  clientId: string;
  clientSecret: string;
  /** clientSecretExpiresAt */
  expiresAt: Date;
}

export interface OidcClientRepository {
  get(key: string): Promise<CachedOidcClient | null>;
  /** Insert or replace the registration stored under `key`. */
  put(key: string, value: CachedOidcClient & { endpoint: string; clientName: string }): Promise<void>;
  /** Drops a registration the OIDC service no longer accepts. */
  forget(key: string): Promise<void>;
}

/** Errors and the like are cut to this many characters: enough to diagnose, bounded in size. */
const MAX_ERROR_LENGTH = 2_000;

const sessionContext = (column: 'client_secret' | 'device_code', id: string) => `login_sessions.${column}:${id}`;
const clientContext = (key: string) => `oidc_clients.client_secret:${key}`;

export function createLoginSessionRepository(deps: { conn: Connection; sealer: Sealer; clock: () => number }): LoginSessionRepository {
  const { conn, sealer, clock } = deps;
  const { db } = conn;
  const t = conn.tables.loginSessions;
  type Row = typeof t.$inferSelect;
  const now = () => new Date(clock());

  const toSession = (row: Row): LoginSession => ({
    ...row,
    enabled: Boolean(row.enabled),
    clientSecret: sealer.open(row.clientSecret, sessionContext('client_secret', row.id)),
    deviceCode: sealer.open(row.deviceCode, sessionContext('device_code', row.id)),
  });

  async function get(id: string): Promise<LoginSession | null> {
    const [row] = await db.select().from(t).where(eq(t.id, id));
    return row ? toSession(row) : null;
  }

  return {
    async create(input) {
      const at = now();
      await db.insert(t).values({
        ...input,
        status: 'pending',
        clientSecret: sealer.seal(input.clientSecret, sessionContext('client_secret', input.id)),
        deviceCode: sealer.seal(input.deviceCode, sessionContext('device_code', input.id)),
        pollOwner: null,
        pollUntil: null,
        accountId: null,
        error: null,
        createdAt: at,
        updatedAt: at,
      });
      const created = await get(input.id);
      if (!created) throw new Error(`login session ${input.id} vanished right after it was created`);
      return created;
    },

    get,

    async takePoll(id, owner, until, at) {
      const result = await db
        .update(t)
        .set({ pollOwner: owner, pollUntil: until, updatedAt: now() })
        .where(
          and(
            eq(t.id, id),
            eq(t.status, 'pending'),
            lte(t.nextPollAt, at),
            or(isNull(t.pollUntil), lte(t.pollUntil, at)),
          ),
        );
      return conn.affected(result) > 0;
    },

    async reschedule(id, owner, next) {
      await db
        .update(t)
        .set({
          intervalMs: next.intervalMs,
          nextPollAt: next.nextPollAt,
          error: next.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
          pollOwner: null,
          pollUntil: null,
          updatedAt: now(),
        })
        .where(and(eq(t.id, id), eq(t.pollOwner, owner)));
    },

    async finish(id, end) {
      const result = await db
        .update(t)
        .set({
          status: end.status,
          accountId: end.accountId ?? null,
          error: end.error?.slice(0, MAX_ERROR_LENGTH) ?? null,
          pollOwner: null,
          pollUntil: null,
          updatedAt: now(),
        })
        .where(and(eq(t.id, id), end.status === 'completed' ? ne(t.status, 'completed') : eq(t.status, 'pending')));
      return conn.affected(result) > 0;
    },

    async deleteCreatedBefore(before) {
      return conn.affected(await db.delete(t).where(lt(t.createdAt, before)));
    },
  };
}

export function createOidcClientRepository(deps: { conn: Connection; sealer: Sealer; clock: () => number }): OidcClientRepository {
  const { conn, sealer, clock } = deps;
  const { db } = conn;
  const t = conn.tables.oidcClients;

  return {
    async get(key) {
      const [row] = await db.select().from(t).where(eq(t.id, key));
      if (!row) return null;
      return { clientId: row.clientId, clientSecret: sealer.open(row.clientSecret, clientContext(key)), expiresAt: row.expiresAt };
    },

    async put(key, value) {
      const fields = {
        endpoint: value.endpoint,
        clientName: value.clientName,
        clientId: value.clientId,
        clientSecret: sealer.seal(value.clientSecret, clientContext(key)),
        expiresAt: value.expiresAt,
        createdAt: new Date(clock()),
      };
      // Update first, insert when absent: no dialect-neutral upsert (MySQL lacks ON CONFLICT). Two
      // replicas registering at once both end with a working registration; the later one is kept.
      const update = () => db.update(t).set(fields).where(eq(t.id, key));
      if (conn.affected(await update()) > 0) return;
      try {
        await db.insert(t).values({ id: key, ...fields });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        await update();
      }
    },

    async forget(key) {
      await db.delete(t).where(eq(t.id, key));
    },
  };
}
