// `q2api accounts …` on a real database: the Python q2api's operator scripts as subcommands.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAccountsCommand } from '../../src/cli/accounts';
import { startGateway, type Gateway } from '../support/gateway';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';

let gw: Gateway;
let fake: FakeUpstream;
const dir = mkdtempSync(join(tmpdir(), 'q2api-cli-'));

beforeAll(async () => {
  fake = await startFakeUpstream({});
  gw = await startGateway({ upstreamUrl: fake.url });
});
afterAll(async () => {
  await gw.stop();
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runAccountsCommand(gw.ctx, args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

test('add, list (masked), import files, duplicates reported, stats', async () => {
  const added = await run('add', '--refresh-token', 'cli-secret-refresh-token-1', '--label', 'first');
  expect(added.code).toBe(0);
  expect(added.out).toMatch(/^added [0-9a-f-]{36}/);
  expect((await run('add', '--refresh-token', 'cli-secret-refresh-token-1')).err).toContain('duplicate of');
  expect((await run('add', '--client-id', 'c', '--auth-method', 'idc', '--refresh-token', 'x')).err).toContain('clientSecret');

  const file = join(dir, 'kiro-auth-token.json');
  writeFileSync(file, JSON.stringify({ refreshToken: 'cli-import-rt', accessToken: 'cli-import-at', authMethod: 'social', expiresAt: '2030-01-01T00:00:00Z' }));
  const arr = join(dir, 'many.json');
  writeFileSync(arr, JSON.stringify([{ refreshToken: 'cli-arr-1' }, { refreshToken: 'cli-import-rt' }, 7]));
  const imported = await run('import', file, arr);
  expect(imported.out).toContain('2 added, 2 not added');
  expect(imported.err).toContain('duplicate of');

  const list = await run('list', '--json');
  const rows = JSON.parse(list.out);
  expect(rows).toHaveLength(3);
  expect(list.out).not.toContain('cli-secret-refresh-token-1');
  expect(rows.find((r: any) => r.label === 'kiro-auth-token.json')).toBeTruthy();
  const table = await run('list');
  expect(table.out.split('\n')[0]).toContain('STATUS');

  const stats = await run('stats');
  expect(stats.out).toMatch(/TOTAL\s+ENABLED/);
  expect(stats.out).toMatch(/\n3\s+3\s+0/);
});

test('disable, enable, reset-errors and delete', async () => {
  const { items } = await gw.ctx.store.accounts.list();
  const id = items[0]!.id;
  expect((await run('disable', id)).code).toBe(0);
  expect((await gw.ctx.store.accounts.get(id))!.disabledReason).toBe('manual');
  expect((await run('enable', id)).code).toBe(0);
  expect((await gw.ctx.store.accounts.get(id))!.enabled).toBe(true);
  await gw.ctx.store.accounts.recordFailure(id, 'x', 1);
  expect((await gw.ctx.store.accounts.get(id))!.disabledReason).toBe('too_many_errors');
  expect((await run('reset-errors')).out).toContain(`reset ${id} (re-enabled)`);
  expect((await gw.ctx.store.accounts.get(id))!).toMatchObject({ enabled: true, errorCount: 0 });
  expect((await run('delete', id, 'no-such-id')).code).toBe(1);
  expect(await gw.ctx.store.accounts.get(id)).toBeNull();
});

test('retry-failed refreshes accounts disabled by a failed refresh and enables the ones that work', async () => {
  fake.seedToken({ refreshToken: 'cli-revivable-rt', authMethod: 'social' });
  const good = await gw.ctx.store.accounts.create({ refreshToken: 'cli-revivable-rt', authMethod: 'social' });
  const bad = await gw.ctx.store.accounts.create({ refreshToken: 'fake-rt-invalid', authMethod: 'social' });
  for (const a of [good, bad]) await gw.ctx.store.accounts.update(a.id, { enabled: false, disabledReason: 'refresh_failed', lastRefreshStatus: 'failed' });
  const r = await run('retry-failed');
  expect(r.out).toContain('1 of 2 failed accounts revived');
  expect((await gw.ctx.store.accounts.get(good.id))!).toMatchObject({ enabled: true, lastRefreshStatus: 'success' });
  expect((await gw.ctx.store.accounts.get(bad.id))!).toMatchObject({ enabled: false, disabledReason: 'invalid_grant' });
});
