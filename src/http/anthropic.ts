// The Anthropic Messages API: POST /v1/messages (streaming and not) and /v1/messages/count_tokens.
// Short handlers: authenticate, read the body with a cap, decode, fetch URL images, run, encode.

import { Elysia } from 'elysia';
import type { AppContext } from '../context';
import type { ChatEngine, ChatRun } from '../chat/types';
import { collectParts } from '../chat/collect';
import { headerSafe } from '../chat/engine';
import type { Conversation } from '../dialects/conversation';
import { decodeAnthropicRequest, type DecodedAnthropicRequest } from '../dialects/anthropic/decode';
import { AnthropicSseEncoder, PING_EVENT, encodeAnthropicMessage, sseError } from '../dialects/anthropic/encode';
import { GatewayError, errorResponse } from './errors';
import { clientRouting } from './client-routing';
import { checkClientKey, clientScope } from './guards';
import { readJsonBody } from './json-body';
import { fetchPendingImages } from './image-fetch';
import { encodeParts, sseResponse } from './sse';
import { detachedOps } from '../obs/index';

/** Silence on an open stream longer than this gets a `ping` (worst-case gap between bytes: twice this). */
export const KEEPALIVE_MS = 5_000;
/**
 * How long a streaming request waits for the upstream's first event before the gateway commits a
 * 200 and starts pinging. Until then a failure keeps its real status (429/529/400…) for the client's
 * retry logic; after it, slow first tokens (large contexts) are not cut off by proxies that close
 * connections silent for ~10 s or more.
 */
export const COMMIT_AFTER_MS = 8_000;

export interface AnthropicRouteOptions {
  keepaliveMs?: number;
  commitAfterMs?: number;
}

/** Header carrying what the gateway dropped or changed in the request (the engine sets it on runs). */
export const WARNINGS_HEADER = 'x-q2api-warnings';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Anthropic-style ids: `msg_01…` and `req_01…` with 22 random base58 characters. */
function anthropicId(ctx: AppContext, prefix: string): string {
  let s = `${prefix}_01`;
  for (const b of ctx.random.bytes(22)) s += BASE58[b % 58];
  return s;
}

function warningHeaders(conversation: Conversation): Record<string, string> {
  if (conversation.warnings.length === 0) return {};
  return { [WARNINGS_HEADER]: headerSafe([...new Set(conversation.warnings)].join('; ')) };
}

export function anthropicRoutes(ctx: AppContext, chat: ChatEngine, opts: AnthropicRouteOptions = {}) {
  const keepaliveMs = opts.keepaliveMs ?? KEEPALIVE_MS;
  const commitAfterMs = opts.commitAfterMs ?? COMMIT_AFTER_MS;
  // Contexts assembled by hand (route unit tests) have no ops: count in memory, write nowhere.
  const ops = ctx.ops ?? detachedOps(ctx);

  /** Everything before the engine runs: key, body, decode, images. */
  async function prepare(request: Request, requireMaxTokens: boolean, onBody?: (body: unknown) => void): Promise<DecodedAnthropicRequest> {
    checkClientKey(request.headers, ctx.config.openaiKeys);
    const body = await readJsonBody(request, ctx.config.maxRequestBytes);
    onBody?.(body);
    const decoded = decodeAnthropicRequest(body, { requireMaxTokens });
    await fetchPendingImages(decoded.pendingImages, { ...ctx.config.imageFetch, proxy: ctx.config.proxy, signal: request.signal });
    return decoded;
  }

  function fail(err: unknown, requestId: string, path: string): Response {
    let gatewayError: GatewayError;
    if (err instanceof GatewayError) gatewayError = err;
    else {
      ctx.log.error('anthropic route failed', { path, requestId, error: err });
      gatewayError = new GatewayError('internal', 'Internal server error.');
    }
    const res = errorResponse(gatewayError, 'anthropic', requestId);
    res.headers.set('request-id', requestId);
    return res;
  }

  async function messages(request: Request, server: { timeout(r: Request, s: number): void } | null): Promise<Response> {
    const requestId = anthropicId(ctx, 'req');
    // Bun closes a connection whose response stream is silent for its idleTimeout (10 s by default,
    // 30 s under Elysia): a slow first token or a long pause must not cut the answer (peers.md §5.3).
    server?.timeout(request, 0);
    const abort = new AbortController();
    const onClientGone = () => abort.abort(new Error('client disconnected'));
    request.signal.addEventListener('abort', onClientGone, { once: true });
    const track = ops.begin({ id: requestId, route: '/v1/messages', dialect: 'anthropic', headers: request.headers });
    try {
      let body: unknown;
      const { conversation, stream } = await prepare(request, true, (b) => (body = b));
      track.requested({ model: conversation.model, stream, body });
      const runPromise = chat.run(conversation, { signal: abort.signal, requestId, observer: track, ...clientRouting(ctx.config, request.headers, body, conversation) });
      const messageId = anthropicId(ctx, 'msg');
      const baseHeaders = { 'request-id': requestId, ...warningHeaders(conversation) };

      if (!stream) {
        const run = await runPromise;
        const collected = await collectParts(track.parts(run));
        const meta = { id: messageId, model: run.requestedModel, inputTokens: run.inputTokens };
        const out = encodeAnthropicMessage(collected, meta);
        if (!out.ok) return track.finish(fail(out.error, requestId, '/v1/messages'), out.error);
        return track.finish(Response.json(out.message, { headers: { ...baseHeaders, ...run.headers } }));
      }

      // Wait a while for the engine to commit, so that early failures keep their HTTP status.
      let endWait = () => {};
      const wait = new Promise<undefined>((resolve) => (endWait = () => resolve(undefined)));
      const timer = setTimeout(endWait, commitAfterMs);
      const early = await Promise.race([runPromise.then((run) => ({ run })), wait]).finally(() => clearTimeout(timer));
      // Past the wait, a later rejection is reported in-stream; keep it from going unhandled meanwhile.
      if (!early) runPromise.catch(() => {});

      const model = conversation.model;
      async function* events(): AsyncGenerator<string> {
        let run: ChatRun;
        try {
          run = early ? early.run : await runPromise;
        } catch (e) {
          track.failed(e);
          yield sseError(e instanceof GatewayError ? e : new GatewayError('internal', 'Internal server error.'), requestId);
          return;
        }
        const encoder = new AnthropicSseEncoder({ id: messageId, model: run.requestedModel || model, inputTokens: run.inputTokens }, requestId);
        yield* encodeParts(track.parts(run), encoder, (error, thrown) => {
          track.failed(thrown ?? error);
          if (thrown !== undefined) ctx.log.error('stream failed', { requestId, error: thrown });
          return sseError(error, requestId);
        });
      }

      async function* tracked(): AsyncGenerator<string> {
        try {
          yield* events();
        } finally {
          track.end({ clientGone: abort.signal.aborted });
        }
      }
      track.streaming();
      return sseResponse({
        source: tracked(),
        keepalive: PING_EVENT,
        keepaliveMs,
        onCancel: () => {
          onClientGone();
          track.end({ clientGone: true }); // also when the stream is cancelled before its first pull
        },
        headers: { ...baseHeaders, ...(early ? early.run.headers : {}) },
      });
    } catch (e) {
      abort.abort();
      return track.finish(fail(e, requestId, '/v1/messages'), e);
    }
  }

  async function countTokens(request: Request): Promise<Response> {
    const requestId = anthropicId(ctx, 'req');
    try {
      const { conversation } = await prepare(request, false);
      const inputTokens = await chat.countInputTokens(conversation, clientScope(request.headers, ctx.config.openaiKeys));
      return Response.json({ input_tokens: inputTokens }, { headers: { 'request-id': requestId, ...warningHeaders(conversation) } });
    } catch (e) {
      return fail(e, requestId, '/v1/messages/count_tokens');
    }
  }

  // parse: 'none' — the body is read by hand with a byte cap and errors stay Anthropic-shaped; no
  // body schema either, so the framework never answers in its own 422 shape.
  return new Elysia({ name: 'anthropic' })
    .post('/v1/messages', ({ request, server }) => messages(request, server), {
      parse: 'none',
      detail: { summary: 'Anthropic Messages API (streaming and not)', tags: ['anthropic'] },
    })
    .post('/v1/messages/count_tokens', ({ request }) => countTokens(request), {
      parse: 'none',
      detail: { summary: 'Anthropic token counting: {"input_tokens": N}', tags: ['anthropic'] },
    });
}
