// Per-day usage counters, summed in memory and added to usage_daily every few seconds in one atomic
// upsert-increment per cell: the database sees a few statements per flush, not one per request.

import type { Logger } from '../log';
import { USAGE_INSERT_CHUNK, type UsageIncrement, type UsageRepository } from '../store/usage';
import type { Metrics } from './metrics';

export interface UsageEvent {
  /** epoch ms; the UTC day it falls on is the row's day */
  time: number;
  accountId: string;
  clientKey: string;
  error: boolean;
  inputTokens: number;
  outputTokens: number;
  credits: number;
}

export interface UsageRecorder {
  record(e: UsageEvent): void;
  /** adds the pending counters to the database (single-flight); on failure they stay pending */
  flush(): Promise<void>;
  /** cells waiting for the next flush */
  pending(): number;
}

/**
 * Cells kept in memory while the database is unreachable. A cell is one (day, account, key): even
 * 10,000 accounts × 10 keys is reached only after a long outage; past it, new cells are dropped.
 */
export const MAX_PENDING_USAGE_CELLS = 100_000;

const SEP = '\u0000';

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function createUsageRecorder(deps: { repo: UsageRepository; log: Logger; metrics: Metrics }): UsageRecorder {
  let pending = new Map<string, UsageIncrement>();
  let flushing: Promise<void> | null = null;
  let failing = false;

  function add(into: Map<string, UsageIncrement>, inc: UsageIncrement): boolean {
    const key = `${inc.day}${SEP}${inc.accountId}${SEP}${inc.clientKey}`;
    const cell = into.get(key);
    if (cell) {
      cell.requests += inc.requests;
      cell.errors += inc.errors;
      cell.inputTokens += inc.inputTokens;
      cell.outputTokens += inc.outputTokens;
      cell.credits += inc.credits;
      return true;
    }
    if (into.size >= MAX_PENDING_USAGE_CELLS) return false;
    into.set(key, { ...inc });
    return true;
  }

  async function flushOnce(): Promise<void> {
    if (pending.size === 0) return;
    const cells = [...pending.values()];
    pending = new Map();
    // One statement per chunk, each atomic on its own: after a failure only the chunks not yet
    // written go back, so nothing is counted twice or lost.
    for (let i = 0; i < cells.length; i += USAGE_INSERT_CHUNK) {
      try {
        await deps.repo.add(cells.slice(i, i + USAGE_INSERT_CHUNK));
        failing = false;
      } catch (e) {
        deps.metrics.usageFlushFailures.inc();
        if (!failing) deps.log.warn('usage: could not write the counters; will retry', { cells: cells.length - i, error: e });
        failing = true;
        for (const inc of cells.slice(i)) add(pending, inc);
        return;
      }
    }
  }

  return {
    record(e) {
      const ok = add(pending, {
        day: utcDay(e.time),
        accountId: e.accountId,
        clientKey: e.clientKey,
        requests: 1,
        errors: e.error ? 1 : 0,
        inputTokens: e.inputTokens,
        outputTokens: e.outputTokens,
        credits: e.credits,
      });
      if (!ok) deps.metrics.usageFlushFailures.inc();
    },
    flush() {
      flushing ??= flushOnce().finally(() => {
        flushing = null;
      });
      return flushing;
    },
    pending: () => pending.size,
  };
}
