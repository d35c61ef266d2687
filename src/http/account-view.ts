// How an account looks from outside: the Python q2api's row shape, secrets masked, plus a derived status.

import type { Account } from '../store/accounts';
import { maskSecret } from '../log';
import { accountStatus, maskProxy, quotaView } from '../pool/account-state';

export { accountStatus, type AccountStatus } from '../pool/account-state';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function accountView(a: Account, now: Date) {
  return {
    id: a.id,
    label: a.label,
    clientId: a.clientId,
    clientSecret: maskSecret(a.clientSecret),
    refreshToken: maskSecret(a.refreshToken),
    accessToken: maskSecret(a.accessToken),
    other: a.other,
    last_refresh_time: iso(a.lastRefreshTime),
    last_refresh_status: a.lastRefreshStatus ?? 'never',
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
    enabled: a.enabled,
    error_count: a.errorCount,
    success_count: a.successCount,
    expires_at: iso(a.expiresAt),
    auth_method: a.authMethod,
    region: a.region,
    profile_arn: a.profileArn,
    disabled_reason: a.disabledReason,
    cooldown_until: iso(a.cooldownUntil),
    last_used_at: iso(a.lastUsedAt),
    last_error: a.lastError,
    priority: a.priority,
    quota_reset_at: iso(a.quotaResetAt),
    quota: quotaView(a),
    proxy: maskProxy(a.proxy),
    status: accountStatus(a, now),
  };
}
