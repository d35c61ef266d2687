// Follows one chat request from arrival to its last byte: attempts (as the engine's observer), the
// committed run's parts (first content = TTFB, usage, stop reason, errors), the response status. At
// the end it feeds the metrics, the overview ring, the usage counters and the request log, once.

import type { AttemptInfo, ChatRun, ChatRunObserver } from '../chat/types';
import type { StreamPart } from '../dialects/conversation';
import { GatewayError } from '../http/errors';
import { UpstreamError } from '../upstream/errors';
import type { Metrics } from './metrics';
import type { OverviewRing } from './overview';
import type { RequestLog } from './request-log';
import { guardParts, type Shutdown } from './shutdown';
import type { UsageRecorder } from './usage-recorder';

/** nginx's "client closed request"; the engine uses it for the same case. */
export const CLIENT_CLOSED_STATUS = 499;
/** Bytes of request body / response text kept in a log entry with LOG_BODIES=true. */
export const MAX_LOGGED_BODY_CHARS = 16 * 1024;

export interface RequestTracker extends ChatRunObserver {
  /** the decoded request: model asked for, streaming or not, and the body (kept only with LOG_BODIES) */
  requested(info: { model: string; stream: boolean; body?: unknown }): void;
  /** the committed run's parts, observed; they end early with an in-stream error at shutdown */
  parts(run: ChatRun): AsyncIterable<StreamPart>;
  /** ends the request with this response (non-streaming answers, every error response) and returns it */
  finish(res: Response, err?: unknown): Response;
  /** the request failed in a way the parts did not show (a run rejected after the commit wait) */
  failed(err: unknown): void;
  /** a 200 event stream is on its way; `end` closes the record when it is over */
  streaming(): void;
  /** the stream is over; `clientGone` when the client disconnected first */
  end(how?: { clientGone?: boolean }): void;
}

export interface TrackerDeps {
  metrics: Metrics;
  overview: OverviewRing;
  usage: UsageRecorder;
  requestLog: RequestLog;
  shutdown: Shutdown;
  clock: { now(): number };
  monotonic: () => number;
  logBodies: boolean;
}

export interface RequestStart {
  id: string;
  route: string;
  dialect: 'anthropic' | 'openai';
  clientKey: string | null;
}

function cutText(text: string): string {
  return text.length <= MAX_LOGGED_BODY_CHARS ? text : `${text.slice(0, MAX_LOGGED_BODY_CHARS)}…[${text.length - MAX_LOGGED_BODY_CHARS} more]`;
}

export function startTracker(deps: TrackerDeps, start: RequestStart): RequestTracker {
  const { metrics } = deps;
  const time = deps.clock.now();
  const t0 = deps.monotonic();
  let model: string | null = null;
  let stream = false;
  let body: unknown;
  let modelUsed: string | null = null;
  let account: { id: string; label: string | null } | null = null;
  let committedAccount: string | null = null;
  const attempts: Array<{ account: string; kind?: string; action?: string }> = [];
  let ttfbMs: number | null = null;
  let upstreamTtfbMs: number | null = null;
  let inputTokens: number | null = null;
  let outputTokens: number | null = null;
  let credits: number | null = null;
  let stopReason: string | null = null;
  let error: { kind: string; message: string; upstream?: string } | null = null;
  let responseText = '';
  let streamOpen = false;
  let ended = false;

  metrics.requestsInFlight.inc();

  const close = (status: number) => {
    if (ended) return;
    ended = true;
    const totalMs = deps.monotonic() - t0;
    metrics.requestsInFlight.dec();
    if (streamOpen) metrics.streamsInFlight.dec();
    if (committedAccount !== null) deps.overview.released(committedAccount);
    metrics.requests.inc({ route: start.route, status: String(status), model: modelUsed ?? 'none' });
    if (ttfbMs !== null) metrics.ttfb.observe({ route: start.route }, ttfbMs / 1000);
    if (upstreamTtfbMs !== null) metrics.upstreamTtfb.observe({ route: start.route }, upstreamTtfbMs / 1000);
    metrics.duration.observe({ route: start.route }, totalMs / 1000);
    const failed = status !== CLIENT_CLOSED_STATUS && (status >= 400 || error !== null);
    const tokensIn = inputTokens ?? 0;
    const tokensOut = outputTokens ?? 0;
    deps.overview.record({ accountId: committedAccount, error: failed, inputTokens: tokensIn, outputTokens: tokensOut });
    // Requests without a valid key are nobody's usage (and would let anyone add rows).
    if (start.clientKey !== null) {
      deps.usage.record({
        time,
        accountId: account?.id ?? '',
        clientKey: start.clientKey,
        error: failed,
        inputTokens: tokensIn,
        outputTokens: tokensOut,
        credits: credits ?? 0,
      });
    }
    const detail: Record<string, unknown> = { stream };
    if (attempts.length > 0) detail.attempt_log = attempts;
    // Amazon's share of ttfb_ms; the rest is the gateway's (reading, counting, building, failover).
    if (upstreamTtfbMs !== null) detail.upstream_ttfb_ms = Math.round(upstreamTtfbMs * 10) / 10;
    if (error) detail.error = error;
    if (deps.logBodies) {
      if (body !== undefined) detail.request_body = cutText(JSON.stringify(body) ?? '');
      detail.response_text = cutText(responseText);
    }
    deps.requestLog.write({
      id: start.id,
      time,
      route: start.route,
      dialect: start.dialect,
      modelRequested: model,
      modelUsed,
      accountId: account?.id ?? null,
      clientKey: start.clientKey,
      status,
      stopReason,
      inputTokens,
      outputTokens,
      credits,
      ttfbMs: ttfbMs === null ? null : Math.round(ttfbMs * 10) / 10,
      totalMs: Math.round(totalMs * 10) / 10,
      attempts: attempts.length,
      detail,
    });
  };

  const observe = (part: StreamPart) => {
    if (ttfbMs === null) ttfbMs = deps.monotonic() - t0;
    switch (part.type) {
      case 'text-delta':
        if (deps.logBodies && responseText.length <= MAX_LOGGED_BODY_CHARS) responseText += part.text;
        return;
      case 'finish':
        stopReason = part.reason;
        break;
      case 'error': {
        stopReason = 'error';
        const cause = part.error.cause;
        error = { kind: part.error.kind, message: part.error.message };
        if (cause instanceof UpstreamError) {
          error.upstream = cause.kind;
          metrics.upstreamErrors.inc({ kind: cause.kind });
        }
        break;
      }
      default:
        return;
    }
    inputTokens = part.usage.inputTokens;
    outputTokens = part.usage.outputTokens;
    if (part.usage.credits !== undefined) credits = part.usage.credits;
  };

  return {
    attempt(info: AttemptInfo) {
      account = { id: info.accountId, label: info.accountLabel };
      attempts.push({ account: info.accountId, ...(info.error ? { kind: info.error.kind, action: info.action } : {}) });
      if (info.error) {
        metrics.upstreamErrors.inc({ kind: info.error.kind });
        deps.overview.attemptFailed(info.accountId, info.accountLabel);
      } else if (!ended && committedAccount === null) {
        committedAccount = info.accountId;
        if (info.upstreamTtfbMs !== undefined) upstreamTtfbMs = info.upstreamTtfbMs;
        deps.overview.acquired(info.accountId, info.accountLabel);
      }
    },
    requested(info) {
      model = info.model;
      stream = info.stream;
      if (deps.logBodies) body = info.body;
    },
    parts(run) {
      modelUsed = run.upstreamModel;
      inputTokens = run.inputTokens;
      const guarded = guardParts(run.parts, deps.shutdown.signal, run.inputTokens);
      return {
        [Symbol.asyncIterator]() {
          const it = guarded[Symbol.asyncIterator]();
          return {
            next: () =>
              it.next().then((r) => {
                if (!r.done) observe(r.value);
                return r;
              }),
            return: (value?: unknown) => it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
          };
        },
      };
    },
    finish(res, err) {
      if (err !== undefined) error = describeError(err);
      else if (res.status >= 400 && error === null) error = { kind: 'http', message: `status ${res.status}` };
      close(res.status);
      return res;
    },
    failed(err) {
      error = describeError(err);
      stopReason ??= 'error';
    },
    streaming() {
      if (streamOpen || ended) return;
      streamOpen = true;
      metrics.streamsInFlight.inc();
    },
    end(how = {}) {
      close(how.clientGone && stopReason === null ? CLIENT_CLOSED_STATUS : 200);
    },
  };
}

/** The error a route answers with, as the tracker records it (kind and message only). */
export function describeError(e: unknown): { kind: string; message: string } {
  return e instanceof GatewayError ? { kind: e.kind, message: e.message } : { kind: 'internal', message: e instanceof Error ? e.message : String(e) };
}
