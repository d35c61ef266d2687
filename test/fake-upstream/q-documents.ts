// Response documents of the non-streaming Q operations: ListAvailableModels (§2.8),
// GetUsageLimits (§2.9), ListAvailableProfiles / GetProfile (§2.10). Pure builders.

import { FAKE_PROFILE_ARN } from './registry';

interface ModelTraits {
  name: string;
  rateMultiplier: number;
  maxInputTokens: number;
}

/** Traits of the known ids as served to Kiro (§2.8, observed Kiro#7333); others get generic ones. */
const TRAITS: Record<string, ModelTraits> = {
  auto: { name: 'Auto', rateMultiplier: 1.0, maxInputTokens: 200_000 },
  'claude-sonnet-4': { name: 'Claude Sonnet 4', rateMultiplier: 1.3, maxInputTokens: 200_000 },
  'claude-3.7-sonnet': { name: 'Claude 3.7 Sonnet', rateMultiplier: 1.3, maxInputTokens: 200_000 },
  'claude-sonnet-4.5': { name: 'Claude Sonnet 4.5', rateMultiplier: 1.3, maxInputTokens: 200_000 },
  'claude-haiku-4.5': { name: 'Claude Haiku 4.5', rateMultiplier: 0.4, maxInputTokens: 200_000 },
  'claude-opus-4.5': { name: 'Claude Opus 4.5', rateMultiplier: 2.2, maxInputTokens: 200_000 },
  'claude-sonnet-4.6': { name: 'Claude Sonnet 4.6', rateMultiplier: 1.3, maxInputTokens: 1_000_000 },
  'claude-opus-4.6': { name: 'Claude Opus 4.6', rateMultiplier: 2.2, maxInputTokens: 1_000_000 },
};

export function modelObject(modelId: string): Record<string, unknown> {
  const t = TRAITS[modelId] ?? { name: modelId, rateMultiplier: 1.0, maxInputTokens: 200_000 };
  return {
    modelId,
    modelName: t.name,
    description: `The ${t.name} model`,
    rateMultiplier: t.rateMultiplier,
    rateUnit: 'Credit',
    supportedInputTypes: ['TEXT', 'IMAGE'],
    promptCaching: { supportsPromptCaching: true, maximumCacheCheckpointsPerRequest: 4, minimumTokensPerCacheCheckpoint: 1024 },
    tokenLimits: { maxInputTokens: t.maxInputTokens, maxOutputTokens: 64_000 },
  };
}

/** `nextToken` is the decimal offset of the next page: opaque to clients, trivial here. */
export function listModelsDocument(knownModels: readonly string[], maxResults: number | null, nextToken: string | null): Record<string, unknown> {
  const start = nextToken === null ? 0 : Math.max(0, Number.parseInt(nextToken, 10) || 0);
  const end = maxResults === null ? knownModels.length : Math.min(knownModels.length, start + maxResults);
  const defaultId = knownModels.includes('auto') ? 'auto' : (knownModels[0] ?? 'auto');
  const doc: Record<string, unknown> = {
    defaultModel: modelObject(defaultId),
    models: knownModels.slice(start, end).map(modelObject),
  };
  if (end < knownModels.length) doc.nextToken = String(end);
  return doc;
}

/** Midnight UTC on the 1st of next month: when Kiro's monthly credits reset. */
export function nextMonthlyReset(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function usageDocument(opts: { nowMs: number; usedCredits: number; limit: number; account: string }): Record<string, unknown> {
  const resetMs = nextMonthlyReset(opts.nowMs);
  const nextDateReset = Math.floor(resetMs / 1000); // epoch seconds, a JSON number on the wire
  const daysUntilReset = Math.max(0, Math.ceil((resetMs - opts.nowMs) / 86_400_000));
  const used = Math.round(opts.usedCredits * 10_000) / 10_000;
  return {
    daysUntilReset,
    nextDateReset,
    limits: [
      {
        type: 'AGENTIC_REQUEST',
        currentUsage: Math.floor(used),
        totalUsageLimit: Math.floor(opts.limit),
        percentUsed: opts.limit > 0 ? Math.min(100, (used / opts.limit) * 100) : 100,
      },
    ],
    usageBreakdownList: [
      {
        resourceType: 'CREDIT',
        currentUsage: Math.floor(used),
        currentUsageWithPrecision: used,
        usageLimit: Math.floor(opts.limit),
        usageLimitWithPrecision: opts.limit,
        displayName: 'Credit',
        displayNamePlural: 'Credits',
        unit: 'INVOCATIONS',
        currency: 'USD',
        nextDateReset,
        overageCap: 0,
        overageRate: 0.04,
        overageCharges: 0,
        currentOverages: 0,
        bonuses: [],
      },
    ],
    subscriptionInfo: {
      type: 'Q_DEVELOPER_STANDALONE_FREE',
      subscriptionTitle: 'KIRO FREE',
      upgradeCapability: 'UPGRADE_CAPABLE',
      overageCapability: 'OVERAGE_INCAPABLE',
      subscriptionManagementTarget: 'PURCHASE',
    },
    overageConfiguration: { overageStatus: 'DISABLED' },
    userInfo: { email: `${opts.account}@fake.invalid`, userId: `fake-user-${opts.account}` },
  };
}

export function profileObject(): Record<string, unknown> {
  return { arn: FAKE_PROFILE_ARN, profileName: 'FakeProfile', status: 'ACTIVE', profileType: 'Q_DEVELOPER' };
}
