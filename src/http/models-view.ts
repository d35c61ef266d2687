// The catalog's models in the two wire shapes /v1/models speaks: OpenAI's list objects, and
// Anthropic's paginated ModelInfo page (Claude Code reads it at start-up with ?limit=1000).

import type { CatalogModel } from '../upstream/model-catalog';
import { GatewayError } from './errors';

/** Anthropic's page size when `limit` is absent, and its maximum. */
export const ANTHROPIC_DEFAULT_LIMIT = 20;
export const ANTHROPIC_MAX_LIMIT = 1000;

export function openaiModel(m: CatalogModel) {
  return {
    id: m.id,
    object: 'model' as const,
    created: Math.floor(m.createdAt.getTime() / 1000),
    owned_by: m.id.startsWith('claude') ? 'anthropic' : 'amazon-q',
  };
}

function modelLine(id: string): 'haiku' | 'sonnet' | 'opus' | null {
  const m = /\b(haiku|sonnet|opus)\b/.exec(id.replace(/[-_.]/g, ' '));
  return m ? (m[1] as 'haiku' | 'sonnet' | 'opus') : null;
}

export function anthropicModel(m: CatalogModel) {
  return {
    type: 'model' as const,
    id: m.id,
    display_name: m.displayName,
    created_at: m.createdAt.toISOString(),
    max_input_tokens: m.contextWindow,
    max_tokens: m.maxOutputTokens,
    // Capabilities are Anthropic's own feature flags; unknown here, which the API spells null.
    capabilities: null,
    lifecycle: 'active' as const,
    line: modelLine(m.id),
    deprecated_at: null,
    retires_at: null,
  };
}

/** One page as Anthropic's `GET /v1/models` returns it: `limit`, `after_id` / `before_id` cursors. */
export function anthropicModelPage(models: CatalogModel[], query: URLSearchParams) {
  const rawLimit = query.get('limit');
  let limit = ANTHROPIC_DEFAULT_LIMIT;
  if (rawLimit !== null) {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > ANTHROPIC_MAX_LIMIT) {
      throw new GatewayError('invalid_request', `limit: Input should be between 1 and ${ANTHROPIC_MAX_LIMIT}`, { param: 'limit' });
    }
  }
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  let start = 0;
  let end = models.length;
  // An unknown cursor matches nothing: an empty page, as for a cursor past the end.
  if (afterId !== null) start = models.findIndex((m) => m.id === afterId) + 1 || models.length;
  if (beforeId !== null) end = Math.max(0, models.findIndex((m) => m.id === beforeId));
  let page: CatalogModel[];
  let hasMore: boolean;
  if (beforeId !== null && afterId === null) {
    // Paging backwards: the `limit` models right before the cursor.
    const from = Math.max(0, end - limit);
    page = models.slice(from, end);
    hasMore = from > 0;
  } else {
    page = models.slice(start, Math.min(end, start + limit));
    hasMore = start + limit < end;
  }
  return {
    data: page.map(anthropicModel),
    has_more: hasMore,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
  };
}
