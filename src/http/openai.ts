// The OpenAI API family: POST /v1/chat/completions (decode → engine → encode, streaming or not) and
// GET /v1/models[/{id}], which also answers Anthropic clients in Anthropic's shape.

import { Elysia } from 'elysia';
import type { AppContext } from '../context';
import type { ChatEngine, ChatRun } from '../chat/types';
import { collectParts } from '../chat/collect';
import { decodeChatRequest } from '../dialects/openai/decode';
import { chatCompletion, createChunkEncoder, errorFrame, type CompletionMeta } from '../dialects/openai/encode';
import { GatewayError, dialectFor, errorResponse, type Dialect } from './errors';
import { clientRouting } from './client-routing';
import { checkClientKey } from './guards';
import { readJsonBody } from './json-body';
import { fetchPendingImages } from './image-fetch';
import { encodeParts, sseResponse } from './sse';
import { detachedOps } from '../obs/index';
import { createModelCatalog, type ModelCatalog } from '../upstream/model-catalog';
import { anthropicModel, anthropicModelPage, openaiModel } from './models-view';

/**
 * Silence on an open stream longer than this gets an SSE comment (worst-case gap between bytes: twice
 * this, see sse.ts), well under the read timeouts of proxies that close quiet connections.
 */
export const SSE_KEEPALIVE_MS = 5_000;
/**
 * How long a streaming request waits for the engine to commit before the gateway sends a 200 and
 * starts pinging. Until then a failure keeps its real status (429/503/400…) for the client's retry
 * logic; after it, a slow first token is not cut off by a proxy, and failures arrive in-stream.
 */
export const COMMIT_AFTER_MS = 8_000;
const PING = ': ping\n\n';

export interface OpenAIRouteOptions {
  keepAliveMs?: number;
  commitAfterMs?: number;
  /** tests inject a catalog; the app builds one per app */
  catalog?: ModelCatalog;
}

function asGatewayError(e: unknown, log: AppContext['log']): GatewayError {
  if (e instanceof GatewayError) return e;
  log.error('unexpected error in an OpenAI route', { error: e });
  return new GatewayError('internal', 'Internal server error.');
}

function withHeaders(res: Response, headers: Record<string, string>): Response {
  for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
  return res;
}

export function openaiRoutes(ctx: AppContext, chat: ChatEngine, opts: OpenAIRouteOptions = {}) {
  const keepAliveMs = opts.keepAliveMs ?? SSE_KEEPALIVE_MS;
  const commitAfterMs = opts.commitAfterMs ?? COMMIT_AFTER_MS;
  const catalog = opts.catalog ?? createModelCatalog(ctx);
  const fingerprint = `fp_q2api_${ctx.version.replace(/[^A-Za-z0-9]/g, '')}`;
  // Contexts assembled by hand (route unit tests) have no ops: count in memory, write nowhere.
  const ops = ctx.ops ?? detachedOps(ctx);

  async function chatCompletions(request: Request, server: { timeout(request: Request, seconds: number): void } | null): Promise<Response> {
    // Bun's idle timer also runs while we wait for the first upstream event; a slow model must not be cut.
    server?.timeout(request, 0);
    const requestId = ctx.random.uuid();
    const abort = new AbortController();
    const onClientGone = () => abort.abort(new DOMException('client disconnected', 'AbortError'));
    request.signal.addEventListener('abort', onClientGone, { once: true });
    const track = ops.begin({ id: requestId, route: '/v1/chat/completions', dialect: 'openai', headers: request.headers });
    try {
      checkClientKey(request.headers, ctx.config.openaiKeys);
      const body = await readJsonBody(request, ctx.config.maxRequestBytes);
      const decoded = decodeChatRequest(body);
      const { conversation } = decoded;
      track.requested({ model: conversation.model, stream: decoded.stream, body });
      await fetchPendingImages(decoded.pendingImages, { ...ctx.config.imageFetch, proxy: ctx.config.proxy, signal: abort.signal });
      const runPromise = chat.run(conversation, { signal: abort.signal, requestId, observer: track, ...clientRouting(ctx.config, request.headers, body, conversation) });
      const completionId = `chatcmpl-${ctx.random.uuid().replace(/-/g, '')}`;
      const created = Math.floor(ctx.clock.now() / 1000);
      const meta = (run: ChatRun): CompletionMeta => ({
        id: completionId,
        created,
        model: run.requestedModel || conversation.model,
        systemFingerprint: fingerprint,
        inputTokens: run.inputTokens,
      });

      if (!decoded.stream) {
        const run = await runPromise;
        const headers = { ...run.headers, 'x-request-id': requestId };
        const collected = await collectParts(track.parts(run));
        // Nothing was sent yet, so a failure mid-way still gets its real HTTP status.
        if (collected.error) return track.finish(withHeaders(errorResponse(collected.error, 'openai'), headers), collected.error);
        return track.finish(Response.json(chatCompletion(collected, meta(run), conversation.responseFormat), { headers }));
      }

      // Wait a while for the engine to commit, so that early failures keep their HTTP status.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const early = await Promise.race([
        runPromise.then((run) => ({ run })),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), commitAfterMs);
        }),
      ]).finally(() => clearTimeout(timer));
      // Past the wait, a later rejection is reported in-stream; keep it from going unhandled meanwhile.
      if (!early) runPromise.catch(() => {});

      const log = ctx.log;
      async function* frames(): AsyncGenerator<string> {
        let run: ChatRun;
        try {
          run = early ? early.run : await runPromise;
        } catch (e) {
          track.failed(e);
          yield errorFrame(asGatewayError(e, log));
          return;
        }
        const encoder = createChunkEncoder(meta(run), { includeUsage: decoded.includeUsage });
        yield* encodeParts(track.parts(run), encoder, (error, thrown) => {
          track.failed(thrown ?? error);
          // The engine promises to end with an error part; a throw is a bug, still shown as an error.
          if (thrown !== undefined) log.error('chat completion stream failed', { requestId, error: thrown });
          return errorFrame(error);
        });
      }
      async function* tracked(): AsyncGenerator<string> {
        try {
          yield* frames();
        } finally {
          track.end({ clientGone: abort.signal.aborted });
        }
      }

      track.streaming();
      return sseResponse({
        source: tracked(),
        keepalive: PING,
        keepaliveMs: keepAliveMs,
        onCancel: () => {
          onClientGone();
          track.end({ clientGone: true }); // also when the stream is cancelled before its first pull
        },
        headers: { ...(early ? early.run.headers : {}), 'x-request-id': requestId },
      });
    } catch (e) {
      abort.abort();
      const err = asGatewayError(e, ctx.log);
      if (err.status >= 500) ctx.log.warn('chat completion failed', { requestId, status: err.status, error: err.message });
      return track.finish(withHeaders(errorResponse(err, 'openai'), { 'x-request-id': requestId }), err);
    }
  }

  async function models(request: Request, dialect: Dialect): Promise<Response> {
    checkClientKey(request.headers, ctx.config.openaiKeys);
    const list = await catalog.list();
    const url = new URL(request.url);
    const body = dialect === 'anthropic' ? anthropicModelPage(list, url.searchParams) : { object: 'list', data: list.map(openaiModel) };
    return Response.json(body);
  }

  async function model(request: Request, dialect: Dialect, id: string): Promise<Response> {
    checkClientKey(request.headers, ctx.config.openaiKeys);
    const found = (await catalog.list()).find((m) => m.id === id);
    if (!found) throw new GatewayError('not_found', `The model ${JSON.stringify(id)} does not exist.`, { param: 'model', code: 'model_not_found' });
    return Response.json(dialect === 'anthropic' ? anthropicModel(found) : openaiModel(found));
  }

  /** /v1/models is shared: Anthropic clients (by their headers) get Anthropic's shapes, errors included. */
  const shared = async (request: Request, handle: (dialect: Dialect) => Promise<Response>): Promise<Response> => {
    const dialect = dialectFor(new URL(request.url).pathname, request.headers);
    try {
      return await handle(dialect);
    } catch (e) {
      return errorResponse(asGatewayError(e, ctx.log), dialect);
    }
  };

  return new Elysia({ name: 'openai' })
    .post('/v1/chat/completions', ({ request, server }) => chatCompletions(request, server), {
      // The body is read by readJsonBody with the size cap; Elysia must not parse it first.
      parse: 'none',
      detail: { summary: 'OpenAI Chat Completions (streaming and not)', tags: ['openai'] },
    })
    .get('/v1/models', ({ request }) => shared(request, (d) => models(request, d)), {
      detail: { summary: 'Models: OpenAI list shape, or Anthropic shape for Anthropic clients', tags: ['openai', 'anthropic'] },
    })
    .get(
      '/v1/models/*',
      ({ request }) =>
        shared(request, (d) => {
          const raw = new URL(request.url).pathname.slice('/v1/models/'.length);
          let id: string;
          try {
            id = decodeURIComponent(raw);
          } catch {
            throw new GatewayError('not_found', `The model ${JSON.stringify(raw)} does not exist.`, { code: 'model_not_found' });
          }
          return model(request, d, id);
        }),
      { detail: { summary: 'One model, in the caller’s shape', tags: ['openai', 'anthropic'] } },
    );
}
