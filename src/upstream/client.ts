// HTTP client for the Q / Kiro CodeWhisperer service (upstream-protocol.md §2, §3, §5.6): request
// headers, both wire dialects, proxy, timeouts and cancellation; turns a response into QEvents.
import { createHash, randomUUID as cryptoRandomUUID } from 'node:crypto';
import { platform, release } from 'node:os';
import { classifyHttpError, parseJsonObject, UpstreamError, withRequestId } from './errors';
import { EventStreamDecoder, EventStreamError } from './eventstream';
import { type FetchProxy, fetchProxyOption, type ProxyConfig } from './proxy';
import { frameToEvent, type QEvent } from './q-events';

export type QDialect = 'rpc' | 'rest';
export type QAuthMethod = 'idc' | 'social' | 'api_key';

export interface QClientTimeouts {
  /**
   * Deadline for the whole of a non-streaming call (ListAvailableModels, GetUsageLimits). Those do
   * no model work, so a slow answer means a network problem. Bun's fetch reports no "connected"
   * event, so the streaming call has no separate connect deadline: firstByteMs covers it.
   */
  connectMs: number;
  /** From sending the request to the response headers of GenerateAssistantResponse. */
  firstByteMs: number;
  /** Longest silence between two body chunks (the first included) once headers have arrived. */
  idleMs: number;
}

export const DEFAULT_Q_TIMEOUTS: Readonly<QClientTimeouts> = Object.freeze({
  // Connect + TLS to AWS takes well under a second; 10 s of nothing means fail over.
  connectMs: 10_000,
  // Headers come after the service accepted the conversation; large contexts take a while.
  // 120 s is AIClient-2-API's request timeout.
  firstByteMs: 120_000,
  // Q CLI's stalled-stream grace is 5 min; models can pause long between tool-input fragments.
  idleMs: 300_000,
});

/** Identity the client claims in User-Agent / x-amz-user-agent, Kiro IDE style (§2.3). */
export interface UserAgentInfo {
  kiroVersion?: string;
  /** aws-sdk-js version in the UA; 1.0.34 is what current Kiro builds send */
  sdkVersion?: string;
  os?: string;
  osVersion?: string;
  nodeVersion?: string;
}

const DEFAULT_KIRO_VERSION = '0.11.63';
const DEFAULT_SDK_VERSION = '1.0.34';
/** Upper bound on an error body we read: Q error bodies are < 1 KiB; anything bigger is a proxy page. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const RPC_STREAMING_TARGET = 'AmazonCodeWhispererStreamingService.GenerateAssistantResponse';
const RPC_SERVICE_PREFIX = 'AmazonCodeWhispererService.';

export type FetchFn = (input: string | URL | Request, init?: BunFetchRequestInit) => Promise<Response>;

export interface QClientOptions {
  /** base URL, e.g. https://q.us-east-1.amazonaws.com (Q_ENDPOINT) */
  endpoint: string;
  /** default 'rpc' (Q CLI / Rust SDK binding) */
  dialect?: QDialect;
  proxy?: ProxyConfig;
  timeouts?: Partial<QClientTimeouts>;
  fetch?: FetchFn;
  userAgent?: UserAgentInfo;
  randomUUID?: () => string;
  /** x-amzn-codewhisperer-optout; Kiro sends true (do not use content for service improvement) */
  optOut?: boolean;
}

export interface QCallAuth {
  accessToken: string;
  authMethod?: QAuthMethod;
  /** per-account 64-hex id that Kiro appends to its UA; see machineIdFor */
  machineId?: string;
  /** this account's own proxy URL: replaces the client's proxy configuration (and NO_PROXY) for the call */
  proxy?: string;
  signal?: AbortSignal;
}

export interface GenerateAssistantResponseInput extends QCallAuth {
  /** the GenerateAssistantResponse JSON: an object, or already serialised (string, Blob or UTF-8 bytes) */
  body: unknown;
}

export interface QStream {
  requestId?: string;
  status: number;
  /** single-use; breaking out of the loop closes the upstream connection */
  events: AsyncIterable<QEvent>;
  /** closes the upstream connection without iterating (e.g. the caller gave up before reading) */
  cancel(reason?: unknown): void;
}

export interface ListAvailableModelsInput extends QCallAuth {
  profileArn?: string;
  origin?: string;
  nextToken?: string;
}

export interface GetUsageLimitsInput extends QCallAuth {
  profileArn?: string;
  origin?: string;
  resourceType?: string;
  isEmailRequired?: boolean;
}

/** §2.8 Model object; only the keys the gateway reads are typed, the rest is passed through. */
export interface QModel {
  modelId: string;
  modelName?: string;
  description?: string;
  tokenLimits?: { maxInputTokens?: number; maxOutputTokens?: number };
  [key: string]: unknown;
}

export interface ListAvailableModelsResponse {
  defaultModel?: QModel;
  models: QModel[];
  nextToken?: string;
  [key: string]: unknown;
}

/** §2.9 usage document; shape varies between Kiro and Q, so it stays loosely typed. */
export type UsageLimitsResponse = Record<string, unknown>;

export interface QClient {
  readonly endpoint: string;
  readonly dialect: QDialect;
  generateAssistantResponse(input: GenerateAssistantResponseInput): Promise<QStream>;
  listAvailableModels(input: ListAvailableModelsInput): Promise<ListAvailableModelsResponse>;
  getUsageLimits(input: GetUsageLimitsInput): Promise<UsageLimitsResponse>;
}

/** Stable 64-hex machine id for an account key (Kiro uses a SHA-256 of something account-specific). */
export function machineIdFor(accountKey: string): string {
  return createHash('sha256').update(accountKey).digest('hex');
}

export function createQClient(options: QClientOptions): QClient {
  const base = options.endpoint.replace(/\/+$/, '');
  new URL(base); // fail at construction, not on the first request, when Q_ENDPOINT is garbage
  const dialect = options.dialect ?? 'rpc';
  const timeouts: QClientTimeouts = { ...DEFAULT_Q_TIMEOUTS, ...options.timeouts };
  const fetchFn: FetchFn = options.fetch ?? fetch;
  const uuid = options.randomUUID ?? cryptoRandomUUID;
  const ua = {
    kiroVersion: options.userAgent?.kiroVersion ?? DEFAULT_KIRO_VERSION,
    sdkVersion: options.userAgent?.sdkVersion ?? DEFAULT_SDK_VERSION,
    os: options.userAgent?.os ?? platform(),
    osVersion: options.userAgent?.osVersion ?? release(),
    nodeVersion: options.userAgent?.nodeVersion ?? process.versions.node ?? '22.0.0',
  };
  const optOut = String(options.optOut ?? true);
  const proxyFor = (url: string, accountProxy: string | undefined): FetchProxy =>
    accountProxy ? { url: accountProxy, respectNoProxy: false } : fetchProxyOption(url, options.proxy);

  function commonHeaders(auth: QCallAuth, api: string): Record<string, string> {
    const kiro = auth.machineId ? `KiroIDE-${ua.kiroVersion}-${auth.machineId}` : `KiroIDE-${ua.kiroVersion}`;
    const h: Record<string, string> = {
      Authorization: `Bearer ${auth.accessToken}`,
      'x-amzn-codewhisperer-optout': optOut,
      'amz-sdk-invocation-id': uuid(),
      // The pool retries across accounts itself; the SDK-level counter must not promise more.
      'amz-sdk-request': 'attempt=1; max=1',
      'User-Agent': `aws-sdk-js/${ua.sdkVersion} ua/2.1 os/${ua.os}#${ua.osVersion} lang/js md/nodejs#${ua.nodeVersion} api/${api}#${ua.sdkVersion} m/E ${kiro}`,
      'x-amz-user-agent': `aws-sdk-js/${ua.sdkVersion} ${kiro}`,
    };
    if (auth.authMethod === 'api_key') h.tokentype = 'API_KEY';
    return h;
  }

  async function generateAssistantResponse(input: GenerateAssistantResponseInput): Promise<QStream> {
    const url = dialect === 'rpc' ? `${base}/` : `${base}/generateAssistantResponse`;
    const headers = commonHeaders(input, 'codewhispererstreaming');
    headers['x-amzn-kiro-agent-mode'] = 'vibe';
    if (dialect === 'rpc') {
      headers['Content-Type'] = 'application/x-amz-json-1.0';
      headers['X-Amz-Target'] = RPC_STREAMING_TARGET;
    } else {
      headers['Content-Type'] = 'application/json';
    }
    input.signal?.throwIfAborted(); // a request the caller already gave up on must not reach the wire
    const given = input.body;
    const body: BodyInit = typeof given === 'string' || given instanceof Blob ? given : given instanceof Uint8Array ? new Blob([given as Uint8Array<ArrayBuffer>]) : JSON.stringify(given);
    const call = startCall(input.signal);
    const timer = call.deadline(timeouts.firstByteMs, `no response headers within ${timeouts.firstByteMs} ms`);
    let res: Response;
    try {
      res = await fetchFn(url, { method: 'POST', headers, body, signal: call.controller.signal, proxy: proxyFor(url, input.proxy) });
      const requestId = res.headers.get('x-amzn-requestid') ?? undefined;
      if (!res.ok) {
        const text = await readCapped(res);
        throw classifyHttpError(res.status, res.headers, text, requestId);
      }
      const contentType = res.headers.get('content-type');
      if (contentType !== null && !contentType.includes('eventstream')) {
        // A 200 that is not an event stream comes from something in between (captive proxy, WAF).
        const text = await readCapped(res);
        const what = `upstream 200 with content-type ${contentType}: ${text.slice(0, 200)}`;
        throw new UpstreamError('server_error', what, { status: res.status, requestId });
      }
    } catch (e) {
      call.dispose();
      throw call.translate(e, 'before_first_byte');
    } finally {
      clearTimeout(timer);
    }
    const requestId = res.headers.get('x-amzn-requestid') ?? undefined;
    const stream: QStream = {
      status: res.status,
      events: eventsOf(res, call, timeouts.idleMs, requestId),
      cancel(reason?: unknown) {
        call.controller.abort(reason ?? new DOMException('QStream cancelled', 'AbortError'));
        call.dispose();
      },
    };
    if (requestId !== undefined) stream.requestId = requestId;
    return stream;
  }

  async function unary(op: string, auth: QCallAuth, rpcBody: Record<string, unknown>, restPath: string): Promise<Record<string, unknown>> {
    auth.signal?.throwIfAborted();
    const headers = commonHeaders(auth, 'codewhispererruntime');
    let url: string;
    let init: BunFetchRequestInit;
    if (dialect === 'rpc') {
      url = `${base}/`;
      headers['Content-Type'] = 'application/x-amz-json-1.0';
      headers['X-Amz-Target'] = `${RPC_SERVICE_PREFIX}${op}`;
      init = { method: 'POST', headers, body: JSON.stringify(rpcBody) };
    } else {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(rpcBody)) if (v !== undefined) q.set(k, String(v));
      url = `${base}${restPath}?${q.toString()}`;
      init = { method: 'GET', headers };
    }
    const call = startCall(auth.signal);
    const timer = call.deadline(timeouts.connectMs, `${op} did not complete within ${timeouts.connectMs} ms`);
    try {
      const res = await fetchFn(url, { ...init, signal: call.controller.signal, proxy: proxyFor(url, auth.proxy) });
      const requestId = res.headers.get('x-amzn-requestid') ?? undefined;
      const text = await readCapped(res, res.ok ? Number.POSITIVE_INFINITY : MAX_ERROR_BODY_BYTES);
      if (!res.ok) throw classifyHttpError(res.status, res.headers, text, requestId);
      const parsed = parseJsonObject(text);
      if (parsed === undefined) {
        const what = `${op}: response is not a JSON object: ${text.slice(0, 200)}`;
        throw new UpstreamError('server_error', what, { status: res.status, requestId });
      }
      return parsed;
    } catch (e) {
      throw call.translate(e, 'before_first_byte');
    } finally {
      clearTimeout(timer);
      call.dispose();
    }
  }

  return {
    endpoint: base,
    dialect,
    generateAssistantResponse,
    async listAvailableModels(input) {
      const body = { origin: input.origin ?? 'AI_EDITOR', profileArn: input.profileArn, nextToken: input.nextToken };
      const out = await unary('ListAvailableModels', input, body, '/ListAvailableModels');
      // Entries without a modelId are useless to the gateway; dropping them keeps QModel honest.
      const models: unknown[] = Array.isArray(out.models) ? out.models : [];
      out.models = models.filter((m) => typeof (m as { modelId?: unknown } | null)?.modelId === 'string');
      return out as ListAvailableModelsResponse;
    },
    async getUsageLimits(input) {
      const body = {
        origin: input.origin ?? 'AI_EDITOR',
        resourceType: input.resourceType ?? 'AGENTIC_REQUEST',
        profileArn: input.profileArn,
        isEmailRequired: input.isEmailRequired ? true : undefined,
      };
      return unary('GetUsageLimits', input, body, '/getUsageLimits');
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** One request's abort plumbing: our controller, the caller's signal, and why we aborted. */
interface Call {
  controller: AbortController;
  /** arms a timer that aborts the call with a timeout error; returns it for clearTimeout */
  deadline(ms: number, message: string): ReturnType<typeof setTimeout>;
  /** maps whatever fetch/read threw to UpstreamError, or to the caller's own abort reason */
  translate(e: unknown, phase: 'before_first_byte' | 'mid_stream'): unknown;
  dispose(): void;
}

function startCall(signal: AbortSignal | undefined): Call {
  const controller = new AbortController();
  let timeoutError: UpstreamError | undefined;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    controller,
    deadline(ms, message) {
      return setTimeout(() => {
        timeoutError = new UpstreamError('timeout', message, { phase: 'before_first_byte' });
        controller.abort(timeoutError);
      }, ms);
    },
    translate(e, phase) {
      if (e instanceof UpstreamError) return e;
      if (timeoutError !== undefined) return timeoutError;
      // The caller cancelled: give them back their own reason, not an upstream failure.
      if (signal?.aborted) return signal.reason;
      if (phase === 'mid_stream') {
        return new UpstreamError('stream', `connection lost mid-stream: ${errorText(e)}`, { phase, cause: e });
      }
      return new UpstreamError('network', `request failed: ${errorText(e)}`, { phase, cause: e });
    },
    dispose() {
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

async function* eventsOf(res: Response, call: Call, idleMs: number, requestId: string | undefined): AsyncGenerator<QEvent> {
  const body = res.body;
  if (body === null) {
    call.dispose();
    return;
  }
  const reader = body.getReader();
  const decoder = new EventStreamDecoder();
  let finished = false;
  // The idle timeout bounds each wait in read(). One timer per stream rather than one per read (a
  // set and a clear per upstream chunk were a visible share of a stream's CPU): when it fires it
  // re-arms for what is left of the current wait, and it is not re-armed while nobody is reading.
  let readingSince: number | undefined;
  let idleFired = false;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    watchdog = undefined;
    if (readingSince === undefined) return;
    const left = idleMs - (performance.now() - readingSince);
    // A timer may fire a little early; within a millisecond counts as the full wait.
    if (left > 1) {
      watchdog = setTimeout(check, left);
      return;
    }
    idleFired = true;
    call.controller.abort(new UpstreamError('timeout', 'idle', { phase: 'mid_stream' }));
  };
  try {
    for (;;) {
      readingSince = performance.now();
      watchdog ??= setTimeout(check, idleMs);
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (idleFired) throw idleTimeout(idleMs, requestId);
        const t = call.translate(e, 'mid_stream');
        throw t instanceof UpstreamError && requestId !== undefined ? withRequestId(t, requestId) : t;
      } finally {
        readingSince = undefined;
      }
      if (idleFired) throw idleTimeout(idleMs, requestId);
      try {
        if (chunk.done) {
          decoder.end();
          finished = true;
          return;
        }
        for (const frame of decoder.push(chunk.value)) yield frameToEvent(frame);
      } catch (e) {
        if (e instanceof EventStreamError) {
          throw new UpstreamError('stream', `bad event stream: ${e.message}`, {
            phase: 'mid_stream',
            streamErrorKind: e.kind,
            requestId,
            cause: e,
          });
        }
        if (e instanceof UpstreamError && requestId !== undefined && e.requestId === undefined) throw withRequestId(e, requestId);
        throw e;
      }
    }
  } finally {
    if (watchdog !== undefined) clearTimeout(watchdog);
    if (!finished) {
      // Early exit (break, error, timeout): drop the connection instead of draining it.
      call.controller.abort(new DOMException('stream closed by consumer', 'AbortError'));
      await reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
    call.dispose();
  }
}

function idleTimeout(idleMs: number, requestId: string | undefined): UpstreamError {
  return new UpstreamError('timeout', `no data from upstream for ${idleMs} ms`, { phase: 'mid_stream', requestId });
}

/** Reads a response body as text, keeping at most `max` bytes (the rest is cancelled). */
async function readCapped(res: Response, max: number = MAX_ERROR_BODY_BYTES): Promise<string> {
  if (res.body === null) return '';
  if (max === Number.POSITIVE_INFINITY) return res.text();
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } finally {
    if (size >= max) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, max));
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
