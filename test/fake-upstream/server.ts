// Entry point of the fake upstream: one loopback listener that routes by path to the fake Amazon Q,
// the fake SSO OIDC / Kiro auth service and the /__fake admin API, all sharing one FakeState.

import { defaultConfig, validateConfigPatch, type FakeConfig } from './config';
import { createControl, handleAdmin, type FakeControl } from './admin';
import { AUTH_PATHS, handleAuth } from './auth-routes';
import { startHttpServer, type HttpRequest } from './http';
import { handleQ } from './q-routes';
import { tokenFingerprint } from './random';
import type { RouteContext } from './route';
import { FakeState, type Listener, type RecordedRequest } from './state';

export type { FakeConfig } from './config';
export type { FakeControl, SeededToken } from './admin';
export type { SeedTokenInput, AuthMethod } from './registry';
export type { FakeStats, QueueEntry, QueueEntryInput, QueueMatch, RecordedRequest } from './state';
export { FAKE_PROFILE_ARN } from './registry';
export { tokenFingerprint } from './random';

export interface FakeUpstream extends FakeControl {
  /** e.g. http://127.0.0.1:40123 — Q base URL, OIDC base URL and Kiro auth base URL alike */
  url: string;
  port: number;
  /** the live config (read-only view; change it with configure) */
  config(): Readonly<FakeConfig>;
  /** closes the listener and destroys every open connection (stalled streams included) */
  stop(): Promise<void>;
}

export interface StartOptions extends Partial<FakeConfig> {
  /** 0 (default) = any free port */
  port?: number;
  /** default 127.0.0.1: the fake is loopback-only by design */
  host?: string;
  /** called when a recorded (Q or auth) request is complete; main.ts logs with it */
  onRequestDone?: ((record: RecordedRequest) => void) | undefined;
}

// Recordings keep parsed bodies for shape assertions; beyond this they keep a summary only, so a
// benchmark pushing large prompts cannot grow memory without bound.
const MAX_RECORDED_BODY_BYTES = 4 * 1024 * 1024;

function recordedHeaders(req: HttpRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of req.headers) {
    if (name === 'authorization') {
      const m = /^(Bearer)\s+(\S+)$/i.exec(value);
      out[name] = m ? `${m[1]} ${tokenFingerprint(m[2]!)}` : tokenFingerprint(value);
    } else {
      out[name] = value;
    }
  }
  return out;
}

function recordedBody(body: Uint8Array): unknown {
  if (body.length === 0) return null;
  if (body.length > MAX_RECORDED_BODY_BYTES) return `[${body.length} bytes, not recorded]`;
  const text = new TextDecoder().decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function startFakeUpstream(opts: StartOptions = {}): Promise<FakeUpstream> {
  const { port = 0, host = '127.0.0.1', onRequestDone, ...configPatch } = opts;
  const state = new FakeState({ ...defaultConfig(), ...validateConfigPatch(configPatch) });
  const control = createControl(state);
  let selfUrl = '';

  const server = await startHttpServer({
    host,
    port,
    clock: () => state.now(),
    handler: async (req, res) => {
      if (req.path === '/__fake' || req.path.startsWith('/__fake/')) return handleAdmin(req, res, state, control);

      const listener: Listener = AUTH_PATHS.has(req.path) ? 'auth' : 'q';
      const record = state.startRecord({
        time: state.now(),
        listener,
        method: req.method,
        path: req.path,
        query: Object.fromEntries(req.query),
        headers: recordedHeaders(req),
        body: recordedBody(req.body),
      });
      const ctx: RouteContext = {
        state,
        req,
        res,
        record,
        baseHeaders: [
          ['x-amzn-RequestId', state.requestId()],
          ['Date', new Date(state.now()).toUTCString()],
        ],
        baseUrl: req.headers.has('host') ? `http://${req.headers.get('host')}` : selfUrl,
      };
      const started = performance.now();
      try {
        await (listener === 'auth' ? handleAuth(ctx) : handleQ(ctx));
      } finally {
        record.status = res.status;
        record.bytesSent = res.bodyBytes;
        record.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
        record.disconnectedEarly = res.disconnectedEarly;
        record.disconnectedAt = res.disconnectedAt;
        record.done = true;
        state.finishRecord(record);
        onRequestDone?.(record);
      }
    },
  });

  selfUrl = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  return {
    url: selfUrl,
    port: server.port,
    config: () => state.config,
    stop: () => server.close(),
    ...control,
  };
}
