// Client model names → Q model ids: the normalisation table of docs/models.md, MODEL_MAP, defaults.
import { describe, expect, test } from 'bun:test';
import { BUILTIN_MODELS, publicModelIds, resolveModel } from '../../src/upstream/models';

const OPTS = { defaultModel: 'claude-sonnet-4.5', modelMap: {} };
const q = (name: string, opts: Parameters<typeof resolveModel>[1] = OPTS) => resolveModel(name, opts).qModelId;

describe('resolveModel: the table', () => {
  const cases: Array<[string, string]> = [
    // Q ids as they are
    ['auto', 'auto'],
    ['claude-sonnet-4', 'claude-sonnet-4'],
    ['claude-3.7-sonnet', 'claude-3.7-sonnet'],
    ['claude-sonnet-4.5', 'claude-sonnet-4.5'],
    ['claude-haiku-4.5', 'claude-haiku-4.5'],
    ['claude-opus-4.5', 'claude-opus-4.5'],
    ['claude-sonnet-4.6', 'claude-sonnet-4.6'],
    ['claude-opus-4.6', 'claude-opus-4.6'],
    ['claude-opus-4.7', 'claude-opus-4.7'],
    ['claude-opus-4.8', 'claude-opus-4.8'],
    // dated (what Claude Code and the SDKs send)
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4.5'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4.5'],
    ['claude-opus-4-5-20251101', 'claude-opus-4.5'],
    ['claude-opus-4-1-20250805', 'claude-opus-4.5'],
    ['claude-opus-4-20250514', 'claude-opus-4.5'],
    // hyphenated aliases (the Python q2api sent claude-opus-4-5 to Sonnet)
    ['claude-sonnet-4-5', 'claude-sonnet-4.5'],
    ['claude-opus-4-5', 'claude-opus-4.5'],
    ['claude-haiku-4-5', 'claude-haiku-4.5'],
    ['claude-sonnet-4-6', 'claude-sonnet-4.6'],
    ['claude-opus-4-6', 'claude-opus-4.6'],
    ['claude-opus-4-7', 'claude-opus-4.7'],
    ['claude-opus-4-8', 'claude-opus-4.8'],
    ['claude-sonnet-4-0', 'claude-sonnet-4'],
    // legacy ordering
    ['claude-3-7-sonnet-20250219', 'claude-3.7-sonnet'],
    ['claude-3-7-sonnet-latest', 'claude-3.7-sonnet'],
    ['claude-3-5-sonnet-20241022', 'claude-sonnet-4.5'],
    ['claude-3-5-sonnet-20240620', 'claude-sonnet-4.5'],
    ['claude-3-5-haiku-20241022', 'claude-haiku-4.5'],
    ['claude-3-haiku-20240307', 'claude-haiku-4.5'],
    ['claude-3-opus-20240229', 'claude-opus-4.5'],
    // prefixes, suffixes, case
    ['anthropic/claude-sonnet-4.5', 'claude-sonnet-4.5'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-sonnet-4.5'],
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4.5'],
    ['claude-sonnet-4-5[1m]', 'claude-sonnet-4.5'],
    ['claude-sonnet-4-6[1m]', 'claude-sonnet-4.6'],
    ['claude-opus-4-5-20251101-thinking', 'claude-opus-4.5'],
    ['claude-sonnet-4-5-thinking[1m]', 'claude-sonnet-4.5'],
    ['CLAUDE-SONNET-4-5', 'claude-sonnet-4.5'],
    ['  Claude-Opus-4.6  ', 'claude-opus-4.6'],
    // legacy internal ids
    ['CLAUDE_SONNET_4_5_20250929_V1_0', 'claude-sonnet-4.5'],
    ['CLAUDE_SONNET_4_20250514_V1_0', 'claude-sonnet-4'],
    ['CLAUDE_3_7_SONNET_20250219_V1_0', 'claude-3.7-sonnet'],
  ];
  for (const [name, want] of cases) {
    test(`${name} → ${want}`, () => {
      const r = resolveModel(name, OPTS);
      expect(r.qModelId).toBe(want);
      expect(r.substituted).toBe(false);
      expect(r.requested).toBe(name);
      expect(r.info.id).toBe(want);
    });
  }
});

describe('resolveModel: flags, defaults, MODEL_MAP', () => {
  test('[1m] and -thinking suffixes are reported', () => {
    expect(resolveModel('claude-sonnet-4-5-20250929-thinking[1m]', OPTS)).toMatchObject({ thinkingSuffix: true, oneMillion: true });
    expect(resolveModel('claude-sonnet-4-5', OPTS)).toMatchObject({ thinkingSuffix: false, oneMillion: false });
  });

  test('unknown names and OpenAI names fall back to the default, substituted', () => {
    for (const name of ['gpt-4o', 'gpt-4o-mini', 'o3', 'deepseek-chat', '', 'claude-sonnet-5', 'claude-haiku-4-6', 'sonnet']) {
      const r = resolveModel(name, OPTS);
      expect([name, r.qModelId, r.substituted]).toEqual([name, 'claude-sonnet-4.5', true]);
    }
  });

  test('the default itself may be written as an alias', () => {
    expect(resolveModel('gpt-4o', { defaultModel: 'claude-opus-4-5', modelMap: {} }).qModelId).toBe('claude-opus-4.5');
  });

  test('an unlisted default is used verbatim with common limits', () => {
    const r = resolveModel('gpt-4o', { defaultModel: 'some-new-model', modelMap: {} });
    expect(r).toMatchObject({ qModelId: 'some-new-model', substituted: true, info: { contextWindow: 200_000 } });
  });

  test('MODEL_MAP wins over the table, matched lower-case, with or without suffixes', () => {
    const modelMap = { 'gpt-4o': 'claude-opus-4.6', 'claude-sonnet-4-5-20250929': 'claude-sonnet-4.6', 'my-model': 'brand-new-q-id' };
    expect(resolveModel('GPT-4o', { ...OPTS, modelMap })).toMatchObject({ qModelId: 'claude-opus-4.6', substituted: false });
    expect(q('claude-sonnet-4-5-20250929', { ...OPTS, modelMap })).toBe('claude-sonnet-4.6');
    expect(q('anthropic/claude-sonnet-4-5-20250929[1m]', { ...OPTS, modelMap })).toBe('claude-sonnet-4.6');
    expect(q('my-model', { ...OPTS, modelMap })).toBe('brand-new-q-id');
  });

  test('a MODEL_MAP target written as a client alias is normalised', () => {
    expect(q('gpt-4o', { ...OPTS, modelMap: { 'gpt-4o': 'claude-haiku-4-5-20251001' } })).toBe('claude-haiku-4.5');
  });

  test('context windows: 1M for the 4.6+ models, 200k otherwise', () => {
    expect(resolveModel('claude-sonnet-4-6', OPTS).info.contextWindow).toBe(1_000_000);
    expect(resolveModel('claude-opus-4-6', OPTS).info.contextWindow).toBe(1_000_000);
    expect(resolveModel('claude-sonnet-4-5', OPTS).info.contextWindow).toBe(200_000);
  });

  test('an explicit known list: its extra ids pass verbatim, table targets it lacks are unknown', () => {
    const known = [...BUILTIN_MODELS.filter((m) => m.id !== 'claude-opus-4.8'), { ...BUILTIN_MODELS[0]!, id: 'deepseek-3.2', displayName: 'DeepSeek 3.2' }];
    expect(resolveModel('DeepSeek-3.2', { ...OPTS, known })).toMatchObject({ qModelId: 'deepseek-3.2', substituted: false });
    expect(resolveModel('claude-opus-4-8', { ...OPTS, known })).toMatchObject({ qModelId: 'claude-sonnet-4.5', substituted: true });
  });
});

describe('BUILTIN_MODELS and publicModelIds', () => {
  test('the §2.8 ids, with valid limits and ISO dates', () => {
    expect(BUILTIN_MODELS.map((m) => m.id)).toEqual([
      'auto',
      'claude-sonnet-4',
      'claude-3.7-sonnet',
      'claude-sonnet-4.5',
      'claude-haiku-4.5',
      'claude-opus-4.5',
      'claude-sonnet-4.6',
      'claude-opus-4.6',
      'claude-opus-4.7',
      'claude-opus-4.8',
    ]);
    for (const m of BUILTIN_MODELS) {
      expect(m.contextWindow).toBeGreaterThanOrEqual(200_000);
      expect(m.maxOutputTokens).toBeGreaterThan(0);
      expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt.replace('Z', '.000Z'));
    }
  });

  test('public ids: Q id, hyphenated alias, dated id; each resolves back without substitution', () => {
    const ids = publicModelIds();
    expect(ids).toContain('claude-sonnet-4.5');
    expect(ids).toContain('claude-sonnet-4-5');
    expect(ids).toContain('claude-sonnet-4-5-20250929');
    expect(ids).toContain('claude-3-7-sonnet-20250219');
    expect(ids).toContain('claude-opus-4-6');
    expect(ids).toContain('auto');
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(resolveModel(id, { defaultModel: 'nope', modelMap: {} }).substituted).toBe(false);
  });

  test('public ids from an upstream list of bare ids: unknown ids listed as they are', () => {
    expect(publicModelIds(['claude-sonnet-4.5', 'deepseek-3.2'])).toEqual(['claude-sonnet-4.5', 'claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'deepseek-3.2']);
  });
});
