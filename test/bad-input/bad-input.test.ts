// The bad-input suite: a generated corpus (corpus.ts, 200+ cases per dialect) sent to a spawned
// `q2api serve`. Every case gets a 4xx in its dialect's error shape (Anthropic
// {"type":"error","error":{type,message}}, OpenAI {"error":{message,type,param,code}}), never a 5xx;
// the gateway keeps answering /healthz and valid requests, and its memory stays bounded.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { rssKb, spawnGateway, type SpawnedGateway } from '../faults/harness';
import { type BadCase, corpus, CORPUS_MAX_REQUEST_BYTES, type Dialect, validRequest } from './corpus';
import { upstreamEnv } from '../support/upstream-env';

const KEY = 'sk-bad-input';
/** Requests in flight at once: enough to overlap, few enough for a 2-core machine. */
const CONCURRENCY = 4;
/** An error body is a sentence, never an echo of the hostile input. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;
/** RSS the gateway may end with above its start, after ~500 requests of up to 16 MB each. */
const MAX_RSS_GROWTH_MB = 300;

let fake: FakeUpstream;
let gw: SpawnedGateway;
let startRss = 0;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await spawnGateway({
    ...upstreamEnv(fake.url),
    OPENAI_KEYS: KEY,
    MAX_REQUEST_BYTES: String(CORPUS_MAX_REQUEST_BYTES),
    LOG_LEVEL: 'warn',
  });
  fake.seedToken({ accessToken: 'bad-at', refreshToken: 'bad-rt', expiresIn: 3600, authMethod: 'social' });
  const r = await gw.admin('POST', '/v2/accounts', { accessToken: 'bad-at', refreshToken: 'bad-rt', authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000).toISOString() });
  expect(r.status).toBe(201);
  startRss = rssKb(gw.proc.pid);
});
afterAll(async () => {
  gw?.cleanup();
  await fake?.stop();
});

function send(dialect: Dialect, body: string | Uint8Array): Promise<Response> {
  return fetch(`${gw.url}${dialect === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`, {
    method: 'POST',
    headers: dialect === 'anthropic' ? { 'x-api-key': KEY, 'content-type': 'application/json' } : { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body as BodyInit,
  });
}

/** What is wrong with the answer to one case, or null when it is a proper 4xx. */
async function problem(dialect: Dialect, c: BadCase): Promise<string | null> {
  let res: Response;
  try {
    res = await send(dialect, c.body);
  } catch (e) {
    return `no response: ${(e as Error).message}`;
  }
  const text = await res.text();
  if (res.status < 400 || res.status >= 500) return `status ${res.status}: ${text.slice(0, 200)}`;
  if (c.status !== undefined && res.status !== c.status) return `status ${res.status}, expected ${c.status}`;
  if (text.length > MAX_ERROR_BODY_BYTES) return `error body of ${text.length} bytes`;
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
  const ok =
    dialect === 'anthropic'
      ? json.type === 'error' && typeof json.error?.type === 'string' && typeof json.error?.message === 'string'
      : typeof json.error?.message === 'string' && typeof json.error?.type === 'string' && 'param' in json.error && 'code' in json.error;
  return ok ? null : `wrong shape: ${text.slice(0, 200)}`;
}

for (const dialect of ['anthropic', 'openai'] as Dialect[]) {
  describe(`bad input: ${dialect}`, () => {
    const cases = corpus(dialect);

    test('the corpus has at least 200 cases', () => {
      expect(cases.length).toBeGreaterThanOrEqual(200);
    });

    test('the request the cases start from is valid', async () => {
      const res = await send(dialect, JSON.stringify(validRequest(dialect)));
      expect(res.status).toBe(200);
    });

    test('every case gets a 4xx in the dialect’s error shape', async () => {
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          const p = await problem(dialect, c);
          if (p) failures.push(`${c.name}: ${p}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      expect(failures).toEqual([]);
    }, 60_000);

    test('the gateway still answers: /healthz and a valid request', async () => {
      expect(gw.proc.exitCode).toBeNull();
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
      expect((await send(dialect, JSON.stringify(validRequest(dialect)))).status).toBe(200);
    });
  });
}

test('memory stays bounded after the whole corpus', () => {
  const growthMb = (rssKb(gw.proc.pid) - startRss) / 1024;
  console.log(`bad input: gateway RSS ${(startRss / 1024).toFixed(0)} MB → ${(rssKb(gw.proc.pid) / 1024).toFixed(0)} MB`);
  expect(growthMb).toBeLessThan(MAX_RSS_GROWTH_MB);
});
