// A real gateway (buildContext + createApp, as `q2api serve`) whose account pool runs on a movable
// clock shared with the fake upstream: cooldowns and quota resets are crossed by moving the clock,
// never by sleeping. The clock is real time plus an offset, so timestamps stay plausible.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app';
import { parseConfig, type Env } from '../../src/config';
import type { AppContext, Clock } from '../../src/context';
import { createLogger } from '../../src/log';
import { buildContext } from '../../src/main';
import { createAccountPool } from '../../src/pool/pool';
import type { Account } from '../../src/store/accounts';
import type { FakeUpstream } from '../fake-upstream/server';
import { adminCall, jsonOrText, TEST_ADMIN_KEY } from '../support/gateway';
import { upstreamEnv } from '../support/upstream-env';

export interface OffsetClock extends Clock {
  advance(ms: number): void;
}

export function offsetClock(): OffsetClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

export interface PoolGateway {
  url: string;
  ctx: AppContext;
  clock: OffsetClock;
  logs: string[];
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** POST /v1/messages (non-streaming) with `text` as the user message */
  ask(text: string, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  /** an account whose tokens the fake knows: `at-<name>` / `rt-<name>` (Kiro social) */
  addAccount(name: string, over?: { priority?: number; proxy?: string }): Promise<Account>;
  stop(): Promise<void>;
}

export async function startPoolGateway(fake: FakeUpstream, clock: OffsetClock, env: Env = {}): Promise<PoolGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'q2api-pool-'));
  const config = parseConfig({
    DATA_DIR: dataDir,
    ADMIN_KEY: TEST_ADMIN_KEY,
    MASTER_KEY: 'a1'.repeat(32),
    HOST: '127.0.0.1',
    ADMIN_MAX_FAILURES: '100000',
    ...upstreamEnv(fake.url),
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger('debug', (l) => logs.push(l));
  const built = await buildContext(config, log);
  // The pool (and so selection, cooldowns, quota dates) on the movable clock; the rest as built.
  await built.pool.close();
  const pool = createAccountPool({ ...built, clock });
  const ctx: AppContext = { ...built, clock, pool };
  const app = createApp(ctx).listen({ hostname: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${app.server!.port}`;
  return {
    url,
    ctx,
    clock,
    logs,
    admin: (method, path, body) => adminCall(url, ctx.adminKey, method, path, body),
    async ask(text, extra = {}) {
      const res = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...extra },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: text }] }),
      });
      return { status: res.status, json: await jsonOrText(res), headers: res.headers };
    },
    async addAccount(name, over = {}) {
      fake.seedToken({ accessToken: `at-${name}`, refreshToken: `rt-${name}`, expiresIn: 3600 * 6, authMethod: 'social' });
      return ctx.store.accounts.create({
        label: name,
        accessToken: `at-${name}`,
        refreshToken: `rt-${name}`,
        authMethod: 'social',
        expiresAt: new Date(clock.now() + 6 * 3_600_000),
        ...over,
      });
    },
    async stop() {
      await app.stop(true);
      await ctx.pool.close();
      await ctx.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Which account each Q chat call used, as the fake saw it (by access token). */
export function chatTokens(fake: FakeUpstream): string[] {
  return fake
    .requests()
    .filter((r) => r.listener === 'q' && r.operation === 'GenerateAssistantResponse')
    .map((r) => r.tokenFingerprint ?? '');
}
