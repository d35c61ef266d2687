// Client model names → Q model ids (upstream-protocol.md §2.8), and the built-in model table used by
// /v1/models and for context windows. Pure; the normalisation table is documented in docs/models.md.

export interface ModelInfo {
  id: string;
  displayName: string;
  contextWindow: number;
  maxOutputTokens: number;
  /** the model answers the `<thinking_mode>` hint (§2.7) */
  thinking: boolean;
  /** ISO date, for /v1/models */
  createdAt: string;
}

export interface ResolvedModel {
  /** exactly what the client sent */
  requested: string;
  qModelId: string;
  /** true when the name could not be mapped and `defaultModel` was used */
  substituted: boolean;
  info: ModelInfo;
  /** the name ended in `-thinking` (the engine may turn thinking on) */
  thinkingSuffix: boolean;
  /** the name ended in `[1m]` (Claude Code's 1M-context variant marker) */
  oneMillion: boolean;
}

/** 200k: Anthropic's standard window, and `tokenLimits.maxInputTokens` Q serves for sonnet-4.5 (§2.8). */
const CONTEXT_200K = 200_000;
/** 1M: Kiro serves the 4.6 models with 1M context (Kiro#7333); kiro.rs gives 4.7/4.8 the same window. */
const CONTEXT_1M = 1_000_000;
/** `tokenLimits.maxOutputTokens` Q serves for sonnet-4.5 (§2.8); assumed for the others. */
const OUTPUT_64K = 64_000;

function model(id: string, displayName: string, contextWindow: number, createdAt: string): ModelInfo {
  return Object.freeze({ id, displayName, contextWindow, maxOutputTokens: OUTPUT_64K, thinking: true, createdAt });
}

/**
 * The Q model ids of §2.8. Sources: `auto` (kiro-gateway, kiro2api), `claude-sonnet-4` and
 * `claude-3.7-sonnet` (Q CLI model.rs), 4.5 family and 4.6 with 1M context (Kiro#7333), opus 4.7/4.8
 * (AIClient mapping; kiro.rs window). `createdAt` is the Anthropic release date where a dated id
 * exists, otherwise the approximate announcement date: it only orders /v1/models. `auto` is Kiro's
 * router over these Claude models, so it gets the common limits.
 */
export const BUILTIN_MODELS: readonly ModelInfo[] = Object.freeze([
  model('auto', 'Auto (Kiro router)', CONTEXT_200K, '2025-07-14T00:00:00Z'),
  model('claude-sonnet-4', 'Claude Sonnet 4', CONTEXT_200K, '2025-05-14T00:00:00Z'),
  model('claude-3.7-sonnet', 'Claude 3.7 Sonnet', CONTEXT_200K, '2025-02-19T00:00:00Z'),
  model('claude-sonnet-4.5', 'Claude Sonnet 4.5', CONTEXT_200K, '2025-09-29T00:00:00Z'),
  model('claude-haiku-4.5', 'Claude Haiku 4.5', CONTEXT_200K, '2025-10-01T00:00:00Z'),
  model('claude-opus-4.5', 'Claude Opus 4.5', CONTEXT_200K, '2025-11-01T00:00:00Z'),
  model('claude-sonnet-4.6', 'Claude Sonnet 4.6', CONTEXT_1M, '2026-02-17T00:00:00Z'),
  model('claude-opus-4.6', 'Claude Opus 4.6', CONTEXT_1M, '2026-02-05T00:00:00Z'),
  model('claude-opus-4.7', 'Claude Opus 4.7', CONTEXT_1M, '2026-04-16T00:00:00Z'),
  model('claude-opus-4.8', 'Claude Opus 4.8', CONTEXT_1M, '2026-06-01T00:00:00Z'),
]);

type Family = 'sonnet' | 'opus' | 'haiku';

/**
 * The normalisation table: (family, major.minor) → Q model id. A version the table lacks is unknown
 * (→ defaultModel). Retired Anthropic models map to the nearest model Q still serves, as the Python
 * q2api did for 3.5 Sonnet; Claude Code's background requests name a 3.5 Haiku, hence Haiku 4.5.
 */
const VERSION_TABLE: Readonly<Record<Family, Readonly<Record<string, string>>>> = {
  sonnet: {
    '3.0': 'claude-sonnet-4.5',
    '3.5': 'claude-sonnet-4.5',
    '3.7': 'claude-3.7-sonnet',
    '4.0': 'claude-sonnet-4',
    '4.5': 'claude-sonnet-4.5',
    '4.6': 'claude-sonnet-4.6',
  },
  opus: {
    '3.0': 'claude-opus-4.5',
    '4.0': 'claude-opus-4.5',
    '4.1': 'claude-opus-4.5',
    '4.5': 'claude-opus-4.5',
    '4.6': 'claude-opus-4.6',
    '4.7': 'claude-opus-4.7',
    '4.8': 'claude-opus-4.8',
  },
  haiku: {
    '3.0': 'claude-haiku-4.5',
    '3.5': 'claude-haiku-4.5',
    '4.5': 'claude-haiku-4.5',
  },
};

/** Anthropic's dated ids of the models Q serves: listed in /v1/models because Claude Code sends them. */
const DATED_ALIASES: Readonly<Record<string, string>> = {
  'claude-sonnet-4': 'claude-sonnet-4-20250514',
  'claude-3.7-sonnet': 'claude-3-7-sonnet-20250219',
  'claude-sonnet-4.5': 'claude-sonnet-4-5-20250929',
  'claude-haiku-4.5': 'claude-haiku-4-5-20251001',
  'claude-opus-4.5': 'claude-opus-4-5-20251101',
};

/** Provider prefixes clients put before the name: OpenRouter/LiteLLM style and Bedrock ids. */
const PREFIX = /^(?:anthropic\/|(?:(?:us|eu|apac|global)\.)?anthropic\.)/;
const ONE_MILLION_SUFFIX = /\[1m\]$/;
const THINKING_SUFFIX = /-thinking$/;
/** `-20250929`, Bedrock `-v2:0`, internal `_V1_0` (after `_`→`-`), `-latest` */
const VERSION_NOISE = /(?:-\d{8}|-v\d+(?:[:-]\d+)?|-latest)$/;
const NEW_ORDER = /^claude-(sonnet|opus|haiku)-(\d+)(?:[.-](\d{1,2}))?$/;
const LEGACY_ORDER = /^claude-(\d+)(?:[.-](\d{1,2}))?-(sonnet|opus|haiku)$/;

interface Parsed {
  base: string;
  thinkingSuffix: boolean;
  oneMillion: boolean;
}

/** Strips prefixes and the `[1m]` / `-thinking` markers, in any order. */
function strip(lower: string): Parsed {
  let base = lower.replace(PREFIX, '');
  let thinkingSuffix = false;
  let oneMillion = false;
  for (;;) {
    if (ONE_MILLION_SUFFIX.test(base)) {
      oneMillion = true;
      base = base.replace(ONE_MILLION_SUFFIX, '');
    } else if (THINKING_SUFFIX.test(base)) {
      thinkingSuffix = true;
      base = base.replace(THINKING_SUFFIX, '');
    } else break;
  }
  return { base, thinkingSuffix, oneMillion };
}

/** The table lookup: a Q model id for a (stripped, lower-case) client name, or undefined. */
function fromTable(base: string): string | undefined {
  let name = base.replace(/_/g, '-');
  while (VERSION_NOISE.test(name)) name = name.replace(VERSION_NOISE, '');
  let family: Family;
  let major: string;
  let minor: string | undefined;
  const a = NEW_ORDER.exec(name);
  const b = a ? null : LEGACY_ORDER.exec(name);
  if (a) [family, major, minor] = [a[1] as Family, a[2]!, a[3]];
  else if (b) [family, major, minor] = [b[3] as Family, b[1]!, b[2]];
  else return undefined;
  return VERSION_TABLE[family][`${Number(major)}.${Number(minor ?? 0)}`];
}

function findInfo(id: string, known: readonly ModelInfo[]): ModelInfo | undefined {
  const lower = id.toLowerCase();
  return known.find((m) => m.id.toLowerCase() === lower) ?? BUILTIN_MODELS.find((m) => m.id.toLowerCase() === lower);
}

/** Limits for a Q id we have no entry for (a MODEL_MAP target, an unlisted default): the common ones. */
function placeholderInfo(id: string): ModelInfo {
  return { id, displayName: id, contextWindow: CONTEXT_200K, maxOutputTokens: OUTPUT_64K, thinking: true, createdAt: '1970-01-01T00:00:00Z' };
}

/**
 * Order: (1) MODEL_MAP on the lower-cased name, then on the name without prefix/suffixes; (2) a Q id
 * of `known` (default BUILTIN_MODELS; pass the upstream's list to accept its extra ids verbatim),
 * matched case-insensitively; (3) the normalisation table, when `known` holds its target;
 * (4) `defaultModel`, `substituted: true`. OpenAI names (gpt-4o, o3…) fall to
 * (4) on purpose: MODEL_MAP is how an operator routes them. A MODEL_MAP target may itself be a
 * client alias; it is normalised, and used verbatim when it means nothing to the table.
 */
export function resolveModel(
  requested: string,
  opts: { defaultModel: string; modelMap: Readonly<Record<string, string>>; known?: readonly ModelInfo[] },
): ResolvedModel {
  const known = opts.known ?? BUILTIN_MODELS;
  const lower = requested.trim().toLowerCase();
  const { base, thinkingSuffix, oneMillion } = strip(lower);
  const done = (qModelId: string, substituted: boolean): ResolvedModel => ({
    requested,
    qModelId,
    substituted,
    info: findInfo(qModelId, known) ?? placeholderInfo(qModelId),
    thinkingSuffix,
    oneMillion,
  });
  const direct = (name: string): string | undefined => findInfo(name, known)?.id ?? fromTable(name);

  const mapped = opts.modelMap[lower] ?? opts.modelMap[base];
  if (mapped !== undefined) {
    const target = strip(mapped.trim().toLowerCase()).base;
    return done(direct(target) ?? mapped.trim(), false);
  }
  const hit = direct(base);
  // With an explicit `known` list (the upstream's), a table target it lacks counts as unknown.
  if (hit !== undefined && known.some((m) => m.id === hit)) return done(hit, false);
  const fallback = opts.defaultModel.trim();
  return done(direct(strip(fallback.toLowerCase()).base) ?? fallback, true);
}

/**
 * The ids /v1/models lists: for every model, its Q id (`claude-sonnet-4.5`), Anthropic's undated
 * hyphenated alias (`claude-sonnet-4-5`) and, where one exists, the dated id
 * (`claude-sonnet-4-5-20250929`). Every listed id resolves back to that model without
 * substitution. `known` (ModelInfo or bare Q ids, e.g. from ListAvailableModels) replaces the
 * built-in list; ids unknown to the table are listed as they are.
 */
export function publicModelIds(known?: readonly (ModelInfo | string)[]): string[] {
  const ids = (known ?? BUILTIN_MODELS).map((m) => (typeof m === 'string' ? m : m.id));
  const out = new Set<string>();
  for (const id of ids) {
    out.add(id);
    const hyphenated = id.replace(/(\d)\.(\d)/g, '$1-$2');
    // Only claim an alias the table maps back to this same model.
    if (hyphenated !== id && fromTable(hyphenated) === id) out.add(hyphenated);
    const dated = DATED_ALIASES[id];
    if (dated !== undefined) out.add(dated);
  }
  return [...out];
}
