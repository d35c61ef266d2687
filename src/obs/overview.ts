// The console overview's live numbers (GET /v2/overview): per-minute ring buffers of the last hour,
// for the whole replica and per account, plus requests in flight per account. In memory, per replica.

import type { Clock } from '../context';

/** One hour, one bucket per minute. */
export const OVERVIEW_WINDOW_S = 3600;
const MINUTE_MS = 60_000;
const SLOTS = OVERVIEW_WINDOW_S / 60;
/** Accounts tracked at most; a pool this large still costs < 50 MB here (≈ 1 KB per account). */
export const MAX_OVERVIEW_ACCOUNTS = 50_000;

export interface OverviewBucket {
  /** start of the minute, ISO 8601 */
  t: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
}

export interface OverviewAccount {
  id: string;
  label: string | null;
  requests: number;
  errors: number;
  in_flight: number;
}

export interface OverviewSnapshot {
  window_s: number;
  /** oldest first; minutes without traffic are present with zeros */
  buckets: OverviewBucket[];
  /** accounts with traffic in the window or a request in flight; busiest first */
  per_account: OverviewAccount[];
}

export interface OverviewRecord {
  /** the account that served the request (committed); failed attempts go through `attemptFailed` */
  accountId: string | null;
  error: boolean;
  inputTokens: number;
  outputTokens: number;
}

export interface OverviewRing {
  /** a finished request, counted in the minute it ended */
  record(r: OverviewRecord): void;
  /** an upstream attempt that failed before commit: a request and an error of that account */
  attemptFailed(accountId: string, label: string | null): void;
  /** a request committed to an account (label for display); pair with `released` */
  acquired(accountId: string, label: string | null): void;
  released(accountId: string): void;
  snapshot(): OverviewSnapshot;
}

interface AccountSlots {
  label: string | null;
  minute: Float64Array;
  requests: Uint32Array;
  errors: Uint32Array;
  inFlight: number;
}

export function createOverviewRing(clock: Clock): OverviewRing {
  const minute = new Float64Array(SLOTS).fill(-1);
  const requests = new Float64Array(SLOTS);
  const errors = new Float64Array(SLOTS);
  const input = new Float64Array(SLOTS);
  const output = new Float64Array(SLOTS);
  const accounts = new Map<string, AccountSlots>();

  const currentMinute = () => Math.floor(clock.now() / MINUTE_MS);

  function account(id: string): AccountSlots | undefined {
    let a = accounts.get(id);
    if (!a) {
      if (accounts.size >= MAX_OVERVIEW_ACCOUNTS) prune(currentMinute());
      if (accounts.size >= MAX_OVERVIEW_ACCOUNTS) return undefined;
      a = { label: null, minute: new Float64Array(SLOTS).fill(-1), requests: new Uint32Array(SLOTS), errors: new Uint32Array(SLOTS), inFlight: 0 };
      accounts.set(id, a);
    }
    return a;
  }

  function countAccount(id: string, label: string | null, error: boolean) {
    const a = account(id);
    if (!a) return;
    if (label !== null) a.label = label;
    const m = currentMinute();
    const slot = m % SLOTS;
    if (a.minute[slot] !== m) {
      a.minute[slot] = m;
      a.requests[slot] = a.errors[slot] = 0;
    }
    a.requests[slot]!++;
    if (error) a.errors[slot]!++;
  }

  /** Forgets accounts idle for the whole window with nothing in flight. */
  function prune(m: number) {
    for (const [id, a] of accounts) {
      if (a.inFlight > 0) continue;
      let live = false;
      for (let i = 0; i < SLOTS && !live; i++) live = a.minute[i]! > m - SLOTS && a.requests[i]! > 0;
      if (!live) accounts.delete(id);
    }
  }

  return {
    record(r) {
      const m = currentMinute();
      const slot = m % SLOTS;
      if (minute[slot] !== m) {
        minute[slot] = m;
        requests[slot] = errors[slot] = input[slot] = output[slot] = 0;
      }
      requests[slot]!++;
      if (r.error) errors[slot]!++;
      input[slot]! += r.inputTokens;
      output[slot]! += r.outputTokens;
      if (r.accountId) countAccount(r.accountId, null, r.error);
    },
    attemptFailed(id, label) {
      countAccount(id, label, true);
    },
    acquired(id, label) {
      const a = account(id);
      if (!a) return;
      a.inFlight++;
      if (label !== null) a.label = label;
    },
    released(id) {
      const a = accounts.get(id);
      if (a && a.inFlight > 0) a.inFlight--;
    },
    snapshot() {
      const m = currentMinute();
      prune(m);
      const buckets: OverviewBucket[] = [];
      for (let k = m - SLOTS + 1; k <= m; k++) {
        const slot = k % SLOTS;
        const live = minute[slot] === k;
        buckets.push({
          t: new Date(k * MINUTE_MS).toISOString(),
          requests: live ? requests[slot]! : 0,
          errors: live ? errors[slot]! : 0,
          input_tokens: live ? input[slot]! : 0,
          output_tokens: live ? output[slot]! : 0,
        });
      }
      const perAccount: OverviewAccount[] = [];
      for (const [id, a] of accounts) {
        let req = 0;
        let err = 0;
        for (let i = 0; i < SLOTS; i++) {
          if (a.minute[i]! > m - SLOTS) {
            req += a.requests[i]!;
            err += a.errors[i]!;
          }
        }
        perAccount.push({ id, label: a.label, requests: req, errors: err, in_flight: a.inFlight });
      }
      perAccount.sort((x, y) => y.requests - x.requests || y.in_flight - x.in_flight || (x.id < y.id ? -1 : 1));
      return { window_s: OVERVIEW_WINDOW_S, buckets, per_account: perAccount };
    },
  };
}
