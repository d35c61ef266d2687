// Starts a real gateway for end-to-end tests: the same buildContext/createApp as `q2api serve`, on a
// free loopback port, against a given database and (optionally) the fake upstream.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Env } from '../../src/config';
import { createLogger } from '../../src/log';
import { buildContext } from '../../src/main';
import { createApp, serveOptions } from '../../src/app';
import type { AppContext } from '../../src/context';
import { upstreamEnv } from './upstream-env';

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789';

export interface Gateway {
  url: string;
  ctx: AppContext;
  logs: string[];
  adminHeaders: Record<string, string>;
  /** fetch a path on the gateway with the admin key and a JSON body */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

export async function startGateway(opts: { databaseUrl?: string; env?: Env; upstreamUrl?: string } = {}): Promise<Gateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'q2api-gw-'));
  const env: Env = {
    DATA_DIR: dataDir,
    DATABASE_URL: opts.databaseUrl ?? '',
    ADMIN_KEY: TEST_ADMIN_KEY,
    MASTER_KEY: 'a1'.repeat(32),
    HOST: '127.0.0.1',
    // e2e suites send many wrong keys on purpose; the lockout itself has its own test
    ADMIN_MAX_FAILURES: '100000',
    // image-URL tests serve their images from loopback; the refusal itself has its own test
    IMAGE_FETCH_ALLOW_PRIVATE: 'true',
    ...(opts.upstreamUrl ? upstreamEnv(opts.upstreamUrl) : {}),
    ...opts.env,
  };
  const config = parseConfig(env);
  const logs: string[] = [];
  const ctx = await buildContext(config, createLogger('debug', (l) => logs.push(l)));
  const app = createApp(ctx).listen({ hostname: '127.0.0.1', port: 0, ...serveOptions(config) });
  const url = `http://127.0.0.1:${app.server!.port}`;
  const adminHeaders = { authorization: `Bearer ${ctx.adminKey}`, 'content-type': 'application/json' };
  return {
    url,
    ctx,
    logs,
    adminHeaders,
    admin: (method, path, body) => adminCall(url, ctx.adminKey, method, path, body),
    async stop() {
      await app.stop(true);
      await ctx.pool.close();
      await ctx.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A response body as JSON when it parses, else as its text. */
export async function jsonOrText(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An admin-API call with the key and a JSON body: the answer's status and body (JSON, else text). */
export async function adminCall(url: string, adminKey: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await jsonOrText(res) };
}
