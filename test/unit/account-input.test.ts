import { describe, expect, test } from 'bun:test';
import { InputError, parseImport, toNewAccount, parseTime } from '../../src/accounts/input';

describe('toNewAccount', () => {
  test('an IdC account needs its client registration and refresh token, naming the missing field', () => {
    expect(() => toNewAccount({ clientId: 'c', refreshToken: 'r', authMethod: 'idc' })).toThrow(
      expect.objectContaining({ field: 'clientSecret' }),
    );
    const a = toNewAccount({ clientId: 'c', clientSecret: 's', refreshToken: 'r' });
    expect(a.authMethod).toBe('idc');
    expect(a.enabled).toBe(true);
  });

  test('without a client registration the account is Kiro social; api keys are recognised', () => {
    expect(toNewAccount({ refreshToken: 'r' }).authMethod).toBe('social');
    expect(toNewAccount({ accessToken: 'ksk_abc' }).authMethod).toBe('api_key');
    expect(() => toNewAccount({})).toThrow(InputError);
  });

  test('bad profile ARN, region and priority are refused by field', () => {
    const bad = (extra: object, field: string) =>
      expect(() => toNewAccount({ refreshToken: 'r', ...extra })).toThrow(expect.objectContaining({ field }));
    bad({ profileArn: 'arn:nope' }, 'profileArn');
    bad({ region: 'mars' }, 'region');
    bad({ priority: 1.5 }, 'priority');
    bad({ expiresAt: 'yesterday-ish' }, 'expiresAt');
    bad({ refreshToken: 'x'.repeat(20_000) }, 'refreshToken');
  });

  test('times: ISO text, epoch seconds and epoch ms', () => {
    expect(parseTime('2026-01-02T03:04:05Z', 'f')!.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(parseTime(1767323045, 'f')!.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(parseTime(1767323045000, 'f')!.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(parseTime(null, 'f')).toBeNull();
  });
});

describe('parseImport', () => {
  test('a Kiro IDE social token file', () => {
    const [item] = parseImport({
      accessToken: 'aoa-x', refreshToken: 'aor-y', expiresAt: '2026-12-01T00:00:00.000Z', authMethod: 'social', provider: 'Google',
      profileArn: 'arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK',
    });
    const a = toNewAccount(item!.input!);
    expect(a).toMatchObject({ authMethod: 'social', refreshToken: 'aor-y', accessToken: 'aoa-x', other: { provider: 'Google' } });
    expect(a.expiresAt?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  test('a Kiro IdC token file is matched with its <clientIdHash>.json registration', () => {
    const items = parseImport({
      files: [
        { name: 'kiro-auth-token.json', content: JSON.stringify({ refreshToken: 'rt', accessToken: 'at', authMethod: 'IdC', provider: 'BuilderId', clientIdHash: 'abc123', region: 'us-east-1' }) },
        { name: 'abc123.json', content: { clientId: 'cid', clientSecret: 'csec', expiresAt: '2027-01-01T00:00:00Z' } },
      ],
    });
    expect(items).toHaveLength(1);
    expect(toNewAccount(items[0]!.input!)).toMatchObject({ authMethod: 'idc', clientId: 'cid', clientSecret: 'csec', refreshToken: 'rt', region: 'us-east-1' });
  });

  test('proxy-style arrays, snake_case Q CLI tokens and q2api exports', () => {
    const items = parseImport([
      { refreshToken: 'r1', authMethod: 'social' },
      { refresh_token: 'r2', access_token: 'a2', client_id: 'c', client_secret: 's', oauth_flow: 'DeviceCode' },
      'not an object',
    ]);
    expect(items[0]!.input!.refreshToken).toBe('r1');
    expect(toNewAccount(items[1]!.input!)).toMatchObject({ authMethod: 'idc', clientId: 'c', refreshToken: 'r2' });
    expect(items[2]!.error).toContain('JSON object');
    const exported = parseImport({ accounts: [{ id: 'x', label: 'L', clientId: 'c', clientSecret: 's', refreshToken: 'r', enabled: 0, other: '{"a":1}' }] });
    expect(exported[0]!.input).toMatchObject({ label: 'L', enabled: false, other: { a: 1 } });
  });

  test('a file that is not JSON is reported, not thrown', () => {
    const items = parseImport({ files: [{ name: 'broken.json', content: '{nope' }] });
    expect(items).toEqual([{ source: 'broken.json', error: 'not valid JSON' }]);
  });
});
