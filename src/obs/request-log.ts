// The request log: one structured JSON line per chat request on stdout (through the logger) and/or
// rows in request_log, written in batches off the request path and pruned after REQUEST_LOG_DAYS.

import type { RequestLogMode } from '../config';
import type { Logger } from '../log';
import type { RequestLogRepository, RequestLogRow } from '../store/request-log';
import type { Metrics } from './metrics';

/**
 * One finished chat request, as the tracker saw it: the stored row's fields, with the time as epoch
 * ms, the credits the upstream reported, and the detail still an object. No prompt text or secret
 * unless `bodies`.
 */
export interface RequestLogEntry extends Omit<RequestLogRow, 'time' | 'totalMs' | 'detail'> {
  /** when the request arrived, epoch ms */
  time: number;
  credits: number | null;
  totalMs: number;
  /** attempt reasons, error, stream flag; bodies when LOG_BODIES=true */
  detail: Record<string, unknown>;
}

export interface RequestLog {
  write(entry: RequestLogEntry): void;
  /** writes the rows waiting for the database (single-flight); failures keep them for the next try */
  flush(): Promise<void>;
  /** deletes rows past the retention */
  prune(): Promise<void>;
  pending(): number;
}

/** Rows waiting for the database at most: ~1 KB each, so a database outage costs at most ~10 MB. */
export const MAX_PENDING_LOG_ROWS = 10_000;
/** Rows written per flush call at most, so one flush never holds a huge statement open. */
const FLUSH_BATCH = 1_000;

export interface RequestLogDeps {
  mode: RequestLogMode;
  retentionDays: number;
  log: Logger;
  repo: RequestLogRepository;
  metrics: Metrics;
  clock: { now(): number };
}

export function createRequestLog(deps: RequestLogDeps): RequestLog {
  const toStdout = deps.mode === 'stdout' || deps.mode === 'both';
  const toDb = deps.mode === 'db' || deps.mode === 'both';
  let queue: RequestLogRow[] = [];
  let flushing: Promise<void> | null = null;
  let failing = false;

  async function flushOnce(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, FLUSH_BATCH);
      try {
        await deps.repo.insert(batch);
      } catch (e) {
        if (!failing) deps.log.warn('request log: could not write to the database; will retry', { rows: queue.length, error: e });
        failing = true;
        return;
      }
      failing = false;
      queue = queue.slice(batch.length);
    }
  }

  return {
    write(e) {
      if (toStdout) {
        deps.log.info('request', {
          request_id: e.id,
          route: e.route,
          dialect: e.dialect,
          model_requested: e.modelRequested,
          model_used: e.modelUsed,
          account_id: e.accountId,
          client_key: e.clientKey,
          status: e.status,
          stop_reason: e.stopReason,
          input_tokens: e.inputTokens,
          output_tokens: e.outputTokens,
          credits: e.credits,
          ttfb_ms: e.ttfbMs,
          total_ms: e.totalMs,
          attempts: e.attempts,
          ...e.detail,
        });
      }
      if (toDb) {
        if (queue.length >= MAX_PENDING_LOG_ROWS) {
          // The database has been down a while: keep the newest rows, count what is lost.
          queue.shift();
          deps.metrics.requestLogDropped.inc();
        }
        queue.push({
          id: e.id,
          time: new Date(e.time),
          route: e.route,
          dialect: e.dialect,
          modelRequested: e.modelRequested,
          modelUsed: e.modelUsed,
          accountId: e.accountId,
          clientKey: e.clientKey,
          status: e.status,
          stopReason: e.stopReason,
          inputTokens: e.inputTokens,
          outputTokens: e.outputTokens,
          ttfbMs: e.ttfbMs,
          totalMs: e.totalMs,
          attempts: e.attempts,
          detail: JSON.stringify({ ...e.detail, ...(e.credits !== null ? { credits: e.credits } : {}) }),
        });
      }
    },
    flush() {
      flushing ??= flushOnce().finally(() => {
        flushing = null;
      });
      return flushing;
    },
    async prune() {
      if (!toDb) return;
      const before = new Date(deps.clock.now() - deps.retentionDays * 86_400_000);
      try {
        const n = await deps.repo.prune(before);
        if (n > 0) deps.log.info('request log pruned', { rows: n, before: before.toISOString() });
      } catch (e) {
        deps.log.warn('request log: pruning failed; will retry', { error: e });
      }
    },
    pending: () => queue.length,
  };
}
