// GET /v1/models and /v1/models/{id} in both shapes: the openai SDK (OpenAI list objects) and the
// @anthropic-ai/sdk (Anthropic ModelInfo pages, picked by its headers), from the upstream's list
// (cached) with aliases, or from the built-in table when no account can answer.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { DEFAULT_KNOWN_MODELS } from '../fake-upstream/config';
import { startGateway, type Gateway } from '../support/gateway';

const KEY = 'sk-models-e2e';
let fake: FakeUpstream;
let gw: Gateway;
let empty: Gateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeUpstream({ known_models: [...DEFAULT_KNOWN_MODELS, 'claude-future-5'] });
  [gw, empty] = await Promise.all([
    startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: KEY } }),
    startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: KEY } }),
  ]);
  fake.seedToken({ accessToken: 'md-at-1', refreshToken: 'md-rt-1', expiresIn: 3600, authMethod: 'social' });
  await gw.ctx.store.accounts.create({ accessToken: 'md-at-1', refreshToken: 'md-rt-1', authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000) });
  openai = new OpenAI({ apiKey: KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: KEY, baseURL: gw.url, maxRetries: 0 });
});
afterAll(async () => {
  await Promise.all([gw.stop(), empty.stop()]);
  await fake.stop();
});

const listCalls = () => fake.requests().filter((r) => r.headers['x-amz-target']?.endsWith('ListAvailableModels')).length;

describe('OpenAI shape', () => {
  test('models.list(): upstream ids plus aliases, OpenAI objects, cached upstream call', async () => {
    const page = await openai.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('claude-sonnet-4.5');
    expect(ids).toContain('claude-sonnet-4-5');
    expect(ids).toContain('claude-sonnet-4-5-20250929');
    expect(ids).toContain('auto');
    expect(ids).toContain('claude-future-5'); // only the upstream knows it
    expect(ids).not.toContain('claude-opus-4.8'); // built-in only: this upstream does not list it
    const m = page.data.find((x) => x.id === 'claude-sonnet-4.5')!;
    expect(m).toEqual({ id: 'claude-sonnet-4.5', object: 'model', created: Date.parse('2025-09-29T00:00:00Z') / 1000, owned_by: 'anthropic' });
    const before = listCalls();
    expect(before).toBeGreaterThan(0);
    await openai.models.list();
    expect(listCalls()).toBe(before);
  });

  test('models.retrieve(): one model; unknown ids are a 404 in OpenAI shape; the key is required', async () => {
    expect(await openai.models.retrieve('claude-haiku-4-5')).toMatchObject({ id: 'claude-haiku-4-5', object: 'model' });
    try {
      await openai.models.retrieve('no-such-model');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(OpenAI.NotFoundError);
      expect((e as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    }
    const res = await fetch(`${gw.url}/v1/models`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.type).toBe('authentication_error');
  });

  test('no account: the built-in table', async () => {
    const ids = (await new OpenAI({ apiKey: KEY, baseURL: `${empty.url}/v1`, maxRetries: 0 }).models.list()).data.map((m) => m.id);
    expect(ids).toContain('claude-opus-4.8');
    expect(ids).not.toContain('claude-future-5');
  });
});

describe('Anthropic shape (anthropic-version / x-api-key)', () => {
  test('models.list() auto-paginates ModelInfo pages to the same ids', async () => {
    const openaiIds = (await openai.models.list()).data.map((m) => m.id);
    const infos: Anthropic.ModelInfo[] = [];
    for await (const m of anthropic.models.list({ limit: 4 })) infos.push(m);
    expect(infos.map((m) => m.id)).toEqual(openaiIds);
    const sonnet = infos.find((m) => m.id === 'claude-sonnet-4-5')!;
    expect(sonnet).toMatchObject({ type: 'model', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00.000Z', max_input_tokens: 200_000, line: 'sonnet' });
  });

  test('page fields: limit, has_more, first_id/last_id, after_id and before_id cursors', async () => {
    const headers = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
    const get = async (q: string) => (await fetch(`${gw.url}/v1/models${q}`, { headers })).json() as Promise<any>;
    const all = await get('?limit=1000');
    expect(all.has_more).toBe(false);
    expect(all.first_id).toBe(all.data[0].id);
    expect(all.last_id).toBe(all.data.at(-1).id);
    const ids: string[] = all.data.map((m: any) => m.id);
    const p1 = await get('?limit=2');
    expect(p1).toMatchObject({ has_more: true, first_id: ids[0], last_id: ids[1] });
    const p2 = await get(`?limit=2&after_id=${ids[1]}`);
    expect(p2.data.map((m: any) => m.id)).toEqual(ids.slice(2, 4));
    const back = await get(`?limit=2&before_id=${ids[3]}`);
    expect(back.data.map((m: any) => m.id)).toEqual(ids.slice(1, 3));
    expect(back.has_more).toBe(true);
    const bad = await fetch(`${gw.url}/v1/models?limit=0`, { headers });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).type).toBe('error');
  });

  test('models.retrieve(), 404 and 401 in Anthropic shape', async () => {
    expect(await anthropic.models.retrieve('claude-sonnet-4-5-20250929')).toMatchObject({ type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5' });
    try {
      await anthropic.models.retrieve('no-such-model');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(Anthropic.NotFoundError);
      expect((e as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    }
    const res = await fetch(`${gw.url}/v1/models`, { headers: { 'x-api-key': 'wrong', 'anthropic-version': '2023-06-01' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});
