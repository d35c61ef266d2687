// The model catalog behind /v1/models: per-account cache with an injected clock, hourly refresh,
// stale list on upstream errors, built-in table when no account can answer.
import { describe, expect, test } from 'bun:test';
import type { AppContext } from '../../src/context';
import { GatewayError } from '../../src/http/errors';
import { createLogger } from '../../src/log';
import type { AccountLease } from '../../src/pool/pool';
import type { ListAvailableModelsInput, ListAvailableModelsResponse } from '../../src/upstream/client';
import { createModelCatalog, MODEL_CATALOG_TTL_MS } from '../../src/upstream/model-catalog';
import { BUILTIN_MODELS, publicModelIds } from '../../src/upstream/models';

function harness(opts: { accounts?: string[]; models?: string[] } = {}) {
  let now = 1_000_000;
  let accounts = opts.accounts ?? ['acc-1'];
  let turn = 0;
  const calls: ListAvailableModelsInput[] = [];
  let fail = false;
  const pages: Record<string, ListAvailableModelsResponse> = {
    first: { models: (opts.models ?? ['claude-sonnet-4.5', 'brand-new-model']).map((modelId) => ({ modelId, modelName: `Name of ${modelId}` })), nextToken: 'p2' },
    p2: { models: [{ modelId: 'auto', modelName: 'Auto', tokenLimits: { maxInputTokens: 123, maxOutputTokens: 45 } }] },
  };
  const deps = {
    clock: { now: () => now },
    log: createLogger('error', () => {}),
    pool: {
      acquire: async (): Promise<AccountLease> => {
        if (accounts.length === 0) throw new GatewayError('unavailable', 'No enabled account.');
        const id = accounts[turn++ % accounts.length]!;
        return { account: { id, profileArn: `arn:${id}` } as AccountLease['account'], accessToken: `at-${id}`, release() {} };
      },
    },
    upstream: {
      q: {
        listAvailableModels: async (input: ListAvailableModelsInput): Promise<ListAvailableModelsResponse> => {
          calls.push(input);
          if (fail) throw new Error('upstream down');
          return pages[input.nextToken ?? 'first']!;
        },
      },
    },
  } as unknown as Pick<AppContext, 'pool' | 'upstream' | 'clock' | 'log'>;
  return {
    catalog: createModelCatalog(deps),
    calls,
    advance: (ms: number) => (now += ms),
    setFail: (f: boolean) => (fail = f),
    setAccounts: (a: string[]) => (accounts = a),
  };
}

describe('model catalog', () => {
  test('lists upstream models (all pages) plus aliases; names and limits from the built-in table or upstream', async () => {
    const h = harness();
    const list = await h.catalog.list();
    const ids = list.map((m) => m.id);
    expect(ids).toEqual(publicModelIds(['claude-sonnet-4.5', 'brand-new-model', 'auto']));
    expect(ids).toContain('brand-new-model');
    expect(h.calls.map((c) => c.nextToken)).toEqual([undefined, 'p2']);
    expect(h.calls[0]).toMatchObject({ accessToken: 'at-acc-1', profileArn: 'arn:acc-1' });
    const fresh = list.find((m) => m.id === 'brand-new-model')!;
    expect(fresh.displayName).toBe('Name of brand-new-model');
    expect(fresh.createdAt.getTime()).toBe(0);
    const builtin = BUILTIN_MODELS.find((m) => m.id === 'claude-sonnet-4.5');
    if (builtin) expect(list.find((m) => m.id === 'claude-sonnet-4.5')!.displayName).toBe(builtin.displayName);
  });

  test('cached per account for an hour, then refreshed', async () => {
    const h = harness();
    await h.catalog.list();
    await h.catalog.list();
    expect(h.calls.length).toBe(2); // two pages, once
    h.advance(MODEL_CATALOG_TTL_MS - 1);
    await h.catalog.list();
    expect(h.calls.length).toBe(2);
    h.advance(1);
    await h.catalog.list();
    expect(h.calls.length).toBe(4);
  });

  test('a failed refresh keeps the stale list; no account or no list at all falls back to the built-in table', async () => {
    const h = harness();
    const first = await h.catalog.list();
    h.advance(MODEL_CATALOG_TTL_MS);
    h.setFail(true);
    expect(await h.catalog.list()).toEqual(first);

    const none = harness({ accounts: [] });
    expect((await none.catalog.list()).map((m) => m.id)).toEqual(publicModelIds());
    const down = harness();
    down.setFail(true);
    expect((await down.catalog.list()).map((m) => m.id)).toEqual(publicModelIds());
  });

  test('single flight: concurrent lists share one upstream call', async () => {
    const h = harness();
    await Promise.all([h.catalog.list(), h.catalog.list(), h.catalog.list()]);
    expect(h.calls.length).toBe(2);
  });
});
