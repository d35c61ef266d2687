// What /v1/models lists: the upstream's ListAvailableModels (cached per account, refreshed hourly)
// plus the documented client aliases, or the built-in table when no account can answer. One catalog
// per app; time comes from the injected clock.

import type { AppContext } from '../context';
import type { QModel } from './client';
import { BUILTIN_MODELS, publicModelIds, resolveModel, type ModelInfo } from './models';

/** The upstream's model list changes with releases, not by the minute; an hour keeps calls rare. */
export const MODEL_CATALOG_TTL_MS = 60 * 60_000;
/** ListAvailableModels pages followed at most: a handful of models per page, a bound against loops. */
const MAX_PAGES = 10;

export interface CatalogModel {
  id: string;
  displayName: string;
  /** release date when known; the epoch otherwise (Anthropic's documented "unknown") */
  createdAt: Date;
  contextWindow: number | null;
  maxOutputTokens: number | null;
}

export interface ModelCatalog {
  /** Never rejects: falls back to the built-in table. */
  list(): Promise<CatalogModel[]>;
}

type CatalogDeps = Pick<AppContext, 'pool' | 'upstream' | 'clock' | 'log'>;

interface Entry {
  fetchedAt: number;
  models: QModel[];
}

function toDate(iso: string | undefined): Date {
  const d = new Date(iso ?? 0);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

export function createModelCatalog(deps: CatalogDeps, opts: { ttlMs?: number } = {}): ModelCatalog {
  const ttlMs = opts.ttlMs ?? MODEL_CATALOG_TTL_MS;
  const byAccount = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<QModel[]>>();

  async function fetchAll(accessToken: string, profileArn: string | undefined, proxy: string | null): Promise<QModel[]> {
    const models: QModel[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await deps.upstream.q.listAvailableModels({
        accessToken,
        ...(profileArn ? { profileArn } : {}),
        ...(nextToken ? { nextToken } : {}),
        ...(proxy ? { proxy } : {}),
      });
      models.push(...res.models);
      nextToken = typeof res.nextToken === 'string' && res.nextToken !== '' ? res.nextToken : undefined;
      if (!nextToken) break;
    }
    return models;
  }

  /** The upstream models, or undefined when no account could answer (the caller falls back). */
  async function upstreamModels(): Promise<QModel[] | undefined> {
    let lease;
    try {
      lease = await deps.pool.acquire();
    } catch (e) {
      deps.log.debug('model catalog: no account to ask, using the built-in table', { error: e });
      return undefined;
    }
    // A models listing is brief and rare: it holds no chat concurrency slot (ACCOUNT_MAX_CONCURRENCY).
    lease.release();
    const id = lease.account.id;
    const now = deps.clock.now();
    const cached = byAccount.get(id);
    if (!cached || now - cached.fetchedAt >= ttlMs) {
      let pending = inFlight.get(id);
      if (!pending) {
        pending = fetchAll(lease.accessToken, lease.account.profileArn ?? undefined, lease.account.proxy ?? null).finally(() => inFlight.delete(id));
        inFlight.set(id, pending);
      }
      try {
        byAccount.set(id, { fetchedAt: deps.clock.now(), models: await pending });
      } catch (e) {
        deps.log.warn('model catalog: ListAvailableModels failed', { account: id, error: e });
        // A stale list still beats the built-in table; only with nothing at all do we fall back.
        if (!cached) return undefined;
      }
    }
    // Accounts may differ (plans, regions): list what any account answered within the TTL. Entries
    // of accounts gone from the pool age out here, so the map stays as small as the pool.
    const seen = new Map<string, QModel>();
    for (const [accountId, entry] of byAccount) {
      if (accountId !== id && now - entry.fetchedAt >= ttlMs) {
        byAccount.delete(accountId);
        continue;
      }
      for (const m of entry.models) if (!seen.has(m.modelId)) seen.set(m.modelId, m);
    }
    return [...seen.values()];
  }

  return {
    async list() {
      const upstream = await upstreamModels();
      const fromUpstream = new Map<string, QModel>((upstream ?? []).map((m) => [m.modelId, m]));
      return publicModelIds(upstream?.map((m) => m.modelId)).map((id): CatalogModel => {
        // Aliases (claude-sonnet-4-5, dated ids) describe the model they resolve to.
        const resolved = resolveModel(id, { defaultModel: id, modelMap: {} });
        const info: ModelInfo | undefined = resolved.substituted ? undefined : BUILTIN_MODELS.find((m) => m.id === resolved.qModelId);
        const q = fromUpstream.get(id) ?? fromUpstream.get(resolved.qModelId);
        return {
          id,
          displayName: info?.displayName ?? q?.modelName ?? id,
          createdAt: toDate(info?.createdAt),
          contextWindow: info?.contextWindow ?? q?.tokenLimits?.maxInputTokens ?? null,
          maxOutputTokens: info?.maxOutputTokens ?? q?.tokenLimits?.maxOutputTokens ?? null,
        };
      });
    },
  };
}
