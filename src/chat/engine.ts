// The chat engine behind every chat route (src/chat/types.ts): resolve the model, count input, pick
// an account, call Q, and fail over across accounts until the first upstream content event commits
// the response (peers.md §5.3); after that, stream it through the event mapper.

import type { AppContext } from '../context';
import type { Conversation, StreamPart } from '../dialects/conversation';
import { GatewayError } from '../http/errors';
import type { Logger } from '../log';
import type { AccountLease } from '../pool/pool';
import { type CountMemo, createTokenCounter } from '../tokens';
import { machineIdFor, type QAuthMethod, type QStream } from '../upstream/client';
import { UpstreamError } from '../upstream/errors';
import { type ResolvedModel, resolveModel } from '../upstream/models';
import type { QEvent } from '../upstream/q-events';
import { type BuiltRequest, buildQRequest, DEFAULT_THINKING_BUDGET } from '../upstream/q-request';
import type { HistoryResume } from '../upstream/q-request-cache';
import { ConversationMemo, DEFAULT_MEMO_BYTES, type Recall } from './memo';
import { clientError, exhaustedError, failoverAction } from './failover';
import { chatStream } from './stream';
import type { ChatEngine, ChatRun, ChatRunOptions } from './types';

export type ChatEngineDeps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'pool' | 'upstream'>;

/**
 * Events buffered while waiting for the first content event. Kiro sends at most a couple of
 * metadata events before content; a stream of nothing but metadata is committed after this many
 * rather than buffered without bound.
 */
export const MAX_PRELUDE_EVENTS = 64;
/** Header values must stay small: proxies reject or truncate large headers (nginx: 4–8 KiB in total). */
export const MAX_WARNINGS_HEADER_CHARS = 1024;
/** Distinct model names whose resolution the engine keeps. */
export const MODEL_CACHE_ENTRIES = 256;
/** nginx's status for "client closed request": nobody reads it, but logs should not say 4xx/5xx. */
const CLIENT_CLOSED_STATUS = 499;

const CONTENT_EVENTS: ReadonlySet<QEvent['type']> = new Set(['assistantResponse', 'reasoning', 'toolUse']);

/** A committed attempt, or the failure that ended it before anything was forwarded. */
type Attempt =
  | { ok: true; stream: QStream; events: AsyncIterable<QEvent>; toolNames: ReadonlyMap<string, string>; warnings: string[]; upstreamTtfbMs: number }
  | { ok: false; error: UpstreamError };

export function createChatEngine(deps: ChatEngineDeps): ChatEngine {
  const { config, pool } = deps;
  // One counter per engine: its cache lives as long as the engine, never in module state. Its
  // countText (output) applies no multiplier: that one only inflates input counts.
  const counter = createTokenCounter({ multiplier: config.tokenCountMultiplier });

  // The last request of recent conversations (memo.ts): an agent's next request counts and converts
  // only its new turns. `??`: hand-built test configs.
  const memo = new ConversationMemo(config.historyCacheBytes ?? DEFAULT_MEMO_BYTES);

  /** The memo is an optimisation: a failure in it must never fail the request. */
  const remember = (...args: Parameters<ConversationMemo['remember']>): void => {
    try {
      memo.remember(...args);
    } catch (e) {
      deps.log.warn('could not remember the conversation for the next request', { error: e });
    }
  };

  /** Input tokens of a request, reusing the counts of its conversation's previous request. */
  async function count(conv: Conversation, recall: Recall): Promise<{ tokens: number; memo: CountMemo }> {
    const prior = recall.entry?.count;
    return counter.countDetailed(conv, prior ? { memo: prior, sharedMessages: recall.sharedMessages, sameTools: recall.sameTools } : undefined);
  }

  const countInputTokens = async (conv: Conversation, scope = ''): Promise<number> => {
    const recall = memo.recall(conv, scope);
    const counted = await count(conv, recall);
    remember(recall, conv, { count: counted.memo });
    return counted.tokens;
  };

  // Clients send the same few model names over and over; resolving one costs a few regexes and
  // table scans. Bounded, since the name is client input; cleared whole when full.
  const resolved = new Map<string, ResolvedModel>();
  const modelFor = (requested: string): ResolvedModel => {
    let model = resolved.get(requested);
    if (model === undefined) {
      model = resolveModel(requested, { defaultModel: config.defaultModel, modelMap: config.modelMap });
      if (resolved.size >= MODEL_CACHE_ENTRIES) resolved.clear();
      resolved.set(requested, model);
    }
    return model;
  };

  async function attempt(build: (profileArn: string | undefined) => BuiltRequest, lease: AccountLease, signal: AbortSignal): Promise<Attempt> {
    const account = lease.account;
    // §5.5: social accounts need their ARN; Builder ID breaks with one, so send only what is stored.
    const built = build(account.profileArn ?? undefined);
    const called = performance.now();
    let stream: QStream;
    try {
      stream = await deps.upstream.q.generateAssistantResponse({
        body: built.payload(),
        accessToken: lease.accessToken,
        authMethod: account.authMethod satisfies QAuthMethod,
        machineId: machineIdFor(account.id),
        ...(account.proxy ? { proxy: account.proxy } : {}),
        signal,
      });
    } catch (e) {
      if (e instanceof UpstreamError && !signal.aborted) return { ok: false, error: e };
      throw e;
    }
    // Commit only on content: an exception frame, a metadata-only or an empty body before the first
    // content event is still a failed attempt that another account may turn into a success.
    const it = stream.events[Symbol.asyncIterator]();
    const prelude: QEvent[] = [];
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) {
          stream.cancel();
          const what = prelude.length === 0 ? 'no events' : `only ${prelude.map((e) => e.type).join(', ')}`;
          return { ok: false, error: new UpstreamError('server_error', `upstream returned an empty stream (${what})`, { phase: 'mid_stream' }) };
        }
        prelude.push(r.value);
        if (CONTENT_EVENTS.has(r.value.type) || prelude.length >= MAX_PRELUDE_EVENTS) break;
      }
    } catch (e) {
      stream.cancel();
      if (e instanceof UpstreamError && !signal.aborted) return { ok: false, error: e };
      throw e;
    }
    const upstreamTtfbMs = performance.now() - called;
    return { ok: true, stream, events: replay(prelude, it), toolNames: built.toolNames, warnings: built.warnings, upstreamTtfbMs };
  }

  async function run(conversation: Conversation, options: ChatRunOptions): Promise<ChatRun> {
    const { signal, requestId } = options;
    const log = deps.log.child({ requestId });
    const model = modelFor(conversation.model);
    const recall = memo.recall(conversation, options.scope ?? '');
    const counted = await count(conversation, recall);
    const inputTokens = counted.tokens;
    const request = withModelSuffix(conversation, model.thinkingSuffix);
    const snapshot = recall.entry?.history;
    const resume = snapshot ? { snapshot, sharedMessages: recall.sharedMessages, sameTools: recall.sameTools } : undefined;
    const build = requestBuilder(request, { modelId: model.qModelId, conversationId: deps.random.uuid() }, resume);
    let built: BuiltRequest;
    try {
      // Build before taking an account: a conversation the builder cannot take costs no refresh.
      built = build(undefined);
    } catch (e) {
      throw e instanceof GatewayError ? e : new GatewayError('internal', `Could not build the upstream request: ${describe(e)}`, { cause: e });
    }
    remember(recall, conversation, { count: counted.memo, ...(built.snapshot ? { history: built.snapshot } : {}) });
    const exclude = new Set<string>();
    let calls = 0;
    let last: UpstreamError | undefined;

    const book = async (lease: AccountLease, outcome: { ok: true } | { ok: false; error: UpstreamError }) => {
      // Booking is bookkeeping: a database hiccup must not fail a request that already has its answer.
      try {
        await pool.report(lease, outcome);
      } catch (e) {
        log.warn('could not record the account outcome', { account: lease.account.id, error: e });
      }
    };
    const abortedError = () => new GatewayError('invalid_request', 'The client closed the request.', { status: CLIENT_CLOSED_STATUS });

    while (exclude.size < config.maxAttempts) {
      if (signal.aborted) throw abortedError();
      let lease: AccountLease;
      try {
        lease = await pool.acquire({ exclude, stickyKey: options.stickyKey });
      } catch (e) {
        // Accounts ran out mid-way: the last upstream error says more than "no account left".
        if (last !== undefined && e instanceof GatewayError) break;
        // Anything else is the store failing (database down): a clean, retryable 503, never a 500.
        if (!(e instanceof GatewayError)) throw new GatewayError('unavailable', `The account store is unavailable: ${describe(e)}`, { cause: e });
        throw e;
      }
      exclude.add(lease.account.id);
      let refreshed = false;
      for (;;) {
        calls++;
        let result: Attempt;
        try {
          result = await attempt(build, lease, signal);
        } catch (e) {
          lease.release();
          if (signal.aborted) throw abortedError();
          throw e instanceof GatewayError ? e : new GatewayError('internal', `Chat request failed: ${describe(e)}`, { cause: e });
        }
        const seen = { accountId: lease.account.id, accountLabel: lease.account.label };
        if (result.ok) {
          options.observer?.attempt({ ...seen, upstreamTtfbMs: result.upstreamTtfbMs });
          const headers = runHeaders({ qModelId: model.qModelId, substituted: model.substituted, calls, warnings: [...conversation.warnings, ...result.warnings] });
          return {
            requestedModel: conversation.model,
            upstreamModel: model.qModelId,
            headers,
            inputTokens,
            parts: closable(
              committed(result, lease, { conversation, inputTokens, contextWindow: model.info.contextWindow, signal, log, book }),
              () => {
                lease.release(); // return() before the first read never reaches committed()'s finally
                result.stream.cancel();
              },
            ),
          };
        }
        const err = result.error;
        const action = failoverAction(err).action;
        options.observer?.attempt({ ...seen, error: { kind: err.kind, message: err.message }, action });
        log.info('upstream attempt failed', { account: lease.account.id, kind: err.kind, attempt: calls, error: err.message });
        if (action === 'reject') {
          lease.release();
          throw withAttempts(clientError(err, { inputTokens, contextWindow: model.info.contextWindow, qModelId: model.qModelId }), calls);
        }
        if (action === 'refresh' && !refreshed) {
          refreshed = true;
          try {
            const account = await pool.refresh(lease.account.id);
            if (account.accessToken) {
              lease = { ...lease, account, accessToken: account.accessToken };
              continue;
            }
          } catch (e) {
            log.warn('token refresh after an invalid-token answer failed', { account: lease.account.id, error: e });
          }
        }
        await book(lease, { ok: false, error: err });
        lease.release();
        last = err;
        break;
      }
    }
    if (last === undefined) throw new GatewayError('unavailable', 'No enabled account with a usable token is available.');
    throw withAttempts(exhaustedError(last, exclude.size), calls);
  }

  /** The committed response: the mapper over the upstream events, with booking and cleanup. */
  async function* committed(
    attempt: Extract<Attempt, { ok: true }>,
    lease: AccountLease,
    ctx: {
      conversation: Conversation;
      inputTokens: number;
      contextWindow: number;
      signal: AbortSignal;
      log: Logger;
      book: (lease: AccountLease, outcome: { ok: true } | { ok: false; error: UpstreamError }) => Promise<void>;
    },
  ): AsyncGenerator<StreamPart> {
    const { stream } = attempt;
    const cancel = () => stream.cancel();
    // The client's signal already aborts the fetch; this also covers a consumer that stopped reading.
    ctx.signal.addEventListener('abort', cancel, { once: true });
    let outcome: { ok: true } | { ok: false; error: UpstreamError } | undefined;
    try {
      const parts = chatStream(attempt.events, {
        toolNames: attempt.toolNames,
        onNote: (note) => ctx.log.debug('upstream stream note', { note }),
        inputTokens: ctx.inputTokens,
        contextWindow: ctx.contextWindow,
        ...(ctx.conversation.maxTokens !== undefined ? { maxTokens: ctx.conversation.maxTokens } : {}),
        stopSequences: ctx.conversation.stopSequences,
        counter,
        cancel,
      });
      for await (const part of parts) {
        if (part.type === 'finish') outcome = { ok: true };
        else if (part.type === 'error' && !ctx.signal.aborted) {
          // Only upstream failures count against the account; a processing bug is ours.
          const cause = part.error.cause;
          if (cause instanceof UpstreamError) outcome = { ok: false, error: cause };
          ctx.log.warn('response failed after commit', { account: lease.account.id, kind: part.error.kind, error: part.error.message });
        }
        yield part;
      }
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
      // Idempotent; after a clean end it only releases the abort plumbing.
      stream.cancel();
      lease.release();
      // A client that went away says nothing about the account: book only real outcomes.
      if (outcome !== undefined) await ctx.book(lease, outcome);
    }
  }

  return { run, countInputTokens, memoStats: () => memo.stats() };
}

/** A `-thinking` model name asks for thinking the request itself did not turn on. */
function withModelSuffix(conv: Conversation, thinkingSuffix: boolean): Conversation {
  if (!thinkingSuffix || conv.thinking.type !== 'disabled') return conv;
  return { ...conv, thinking: { type: 'enabled', budgetTokens: DEFAULT_THINKING_BUDGET } };
}

/** buildQRequest once per distinct profileArn: attempts on other accounts usually reuse the body. */
function requestBuilder(
  conv: Conversation,
  ids: { modelId: string; conversationId: string },
  resume: HistoryResume | undefined,
): (profileArn: string | undefined) => BuiltRequest {
  const built = new Map<string | undefined, BuiltRequest>();
  return (profileArn) => {
    let r = built.get(profileArn);
    if (r === undefined) {
      r = buildQRequest(conv, profileArn === undefined ? ids : { ...ids, profileArn }, resume);
      built.set(profileArn, r);
    }
    return r;
  };
}

/**
 * `parts` whose `return()` closes the upstream first. A generator's own return() does nothing
 * before its first next(), and waits for a pending next() (a stalled upstream read) to settle.
 */
function closable(gen: AsyncGenerator<StreamPart>, close: () => void): AsyncIterable<StreamPart> {
  let taken = false;
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
      if (taken) throw new Error('ChatRun.parts can be iterated only once');
      taken = true;
      return {
        next: () => gen.next(),
        return: (value?: unknown) => {
          close();
          return gen.return(value);
        },
        throw: (e?: unknown) => gen.throw(e),
      };
    },
  };
}

/** Prelude events first, then the rest of the upstream; closing it closes the upstream. */
async function* replay(prelude: readonly QEvent[], it: AsyncIterator<QEvent>): AsyncGenerator<QEvent> {
  try {
    yield* prelude;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

function runHeaders(r: { qModelId: string; substituted: boolean; calls: number; warnings: readonly string[] }): Record<string, string> {
  const headers: Record<string, string> = { 'x-q2api-model': r.qModelId, 'x-q2api-attempts': String(r.calls) };
  if (r.substituted) headers['x-q2api-model-substituted'] = '1';
  if (r.warnings.length > 0) headers['x-q2api-warnings'] = headerSafe(r.warnings.join('; '));
  return headers;
}

/** Printable ASCII only (header values are Latin-1 at best; CR/LF would split the header). */
export function headerSafe(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return ascii.length <= MAX_WARNINGS_HEADER_CHARS ? ascii : `${ascii.slice(0, MAX_WARNINGS_HEADER_CHARS - 3)}...`;
}

function withAttempts(err: GatewayError, calls: number): GatewayError {
  err.headers['x-q2api-attempts'] = String(calls);
  return err;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
