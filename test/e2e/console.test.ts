// The web console in a real browser (system Chromium) against the compiled binary and the fake
// upstream: login, add by form, device login, disable/enable, playground with thinking, language,
// phone width, logout. Screenshots of each screen go to test/artifacts/ (git-ignored).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { buildBinary, startBinary, type RunningBinary } from '../support/binary';
import { externalRequests, launchChromium, recordRequests, screenshot } from '../support/browser';
import { upstreamEnv } from '../support/upstream-env';

const ADMIN_KEY = 'console-e2e-admin-key-0123';
// A step that fails must fail alone: a bun test timeout kills every process the file started.
setDefaultTimeout(20_000);
let dir: string;
let fake: FakeUpstream;
let q2api: RunningBinary;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let requests: string[];

const adminGet = async (path: string) => (await fetch(q2api.url + path, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
const accountByLabel = async (label: string) => ((await adminGet('/v2/accounts')).accounts as Array<{ label: string; enabled: boolean; id: string }>).find((a) => a.label === label);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'q2api-console-'));
  // accept_any_token: the hand-made account's made-up token must work in the playground too.
  const [bin, f, b] = await Promise.all([
    buildBinary(dir),
    startFakeUpstream({ device_auto_approve_after_polls: null, device_poll_interval_s: 0.2, accept_any_token: true }),
    launchChromium(),
  ]);
  fake = f;
  browser = b;
  q2api = await startBinary(bin, dir, {
    ADMIN_KEY,
    MASTER_KEY: 'b2'.repeat(32),
    OPENAI_KEYS: 'sk-client-only', // the playground must work without this key reaching the browser
    ...upstreamEnv(fake.url),
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 820 }, locale: 'en-US' });
  page = await context.newPage();
  requests = recordRequests(page);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await q2api?.stop();
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('console', () => {
  test('login: a wrong key is refused, the right one gives an HttpOnly session and never lands in storage', async () => {
    await page.goto(q2api.url + '/');
    await page.waitForSelector('#admin-key');
    await screenshot(page, 'console-login');
    await page.fill('#admin-key', 'not-the-admin-key');
    await page.click('#login-submit');
    await page.locator('.form-error', { hasText: 'not right' }).waitFor();
    await page.fill('#admin-key', ADMIN_KEY);
    await page.click('#login-submit');
    await page.waitForSelector('nav.tabs');
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(storage).not.toContain(ADMIN_KEY);
    expect(storage).not.toContain('q2api_session'); // HttpOnly: invisible to scripts
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'q2api_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/v2' });
  });

  test('overview shows the empty pool', async () => {
    await page.waitForSelector('#overview-cards .stat');
    await screenshot(page, 'console-overview-empty');
  });

  test('add an account by the form', async () => {
    await page.click('nav.tabs a[data-screen="add"]');
    await page.fill('#f-label', 'form-account');
    await page.fill('#f-refreshToken', 'aor-form-refresh-token');
    await page.fill('#f-accessToken', 'form-access-token');
    await page.click('#f-submit');
    await page.waitForSelector('#add-form .result.ok');
    expect(await accountByLabel('form-account')).toMatchObject({ enabled: true });
  });

  test('import by paste reports each item', async () => {
    await page.fill('#import-text', JSON.stringify([{ label: 'pasted', refreshToken: 'aor-pasted-0001', accessToken: 'at-pasted' }, { refreshToken: '' }]));
    await page.click('#import-submit');
    await page.locator('#import-result', { hasText: '1 added' }).waitFor();
    expect(await page.locator('#import-result .import-items li').count()).toBe(2);
    expect(await accountByLabel('pasted')).toBeDefined();
  });

  test('device login: link and code shown, approved through the fake, account created', async () => {
    await page.fill('#d-label', 'device-account');
    await page.click('#device-start');
    const code = (await page.locator('#device-code').textContent())!;
    expect(await page.getAttribute('#device-link', 'href')).toContain(code);
    await screenshot(page, 'console-device-pending');
    const approved = await fetch(`${fake.url}/__fake/device/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userCode: code }) });
    expect(approved.status).toBe(200);
    await page.waitForSelector('#device-result.ok', { timeout: 10_000 });
    expect(await accountByLabel('device-account')).toMatchObject({ enabled: true });
    await screenshot(page, 'console-add');
  });

  test('accounts: disable and re-enable from the table', async () => {
    await page.click('nav.tabs a[data-screen="accounts"]');
    const row = page.locator('tr[data-label-text="form-account"]');
    await row.waitFor();
    expect(await page.locator('table.accounts tbody tr').count()).toBe(3);
    // delete, after a confirmation
    const pasted = page.locator('tr[data-label-text="pasted"]');
    await pasted.locator('details.menu summary').click();
    await pasted.locator('[data-action="delete"]').click();
    await page.locator('dialog.modal', { hasText: 'pasted' }).waitFor();
    await screenshot(page, 'console-delete-confirm');
    await page.click('dialog.modal button[value="ok"]');
    await pasted.waitFor({ state: 'detached' });
    expect(await accountByLabel('pasted')).toBeUndefined();
    await row.locator('[data-action="toggle"]').click();
    await page.waitForSelector('tr.off[data-label-text="form-account"]');
    expect((await accountByLabel('form-account'))?.enabled).toBe(false);
    await row.locator('.status-cell', { hasText: 'disabled by hand' }).waitFor();
    await screenshot(page, 'console-accounts-disabled');
    await row.locator('[data-action="toggle"]').click();
    await page.waitForSelector('tr[data-label-text="form-account"]:not(.off)');
    expect((await accountByLabel('form-account'))?.enabled).toBe(true);
    await page.fill('#account-search', 'device');
    expect(await page.locator('table.accounts tbody tr').count()).toBe(1);
    await page.fill('#account-search', '');
    await screenshot(page, 'console-accounts');
  });

  test('playground: streamed answer with its thinking shown apart, usage and latency', async () => {
    await page.click('nav.tabs a[data-screen="playground"]');
    await page.waitForSelector('#pg-model option[value="claude-sonnet-4.5"]', { state: 'attached' });
    await page.check('#pg-thinking');
    await page.fill('#pg-input', 'Say hello [[fake:thinking]]');
    await page.click('#pg-send');
    const turn = page.locator('.turn.assistant.done');
    await turn.waitFor({ timeout: 15_000 });
    expect(((await turn.locator('details.thinking .thinking-text').textContent()) ?? '').length).toBeGreaterThan(0);
    expect(((await turn.locator('.answer').textContent()) ?? '').length).toBeGreaterThan(0);
    const meta = (await turn.locator('.turn-meta').textContent()) ?? '';
    expect(meta).toContain('first token');
    expect(meta).toMatch(/out\s*\d+/);
    await screenshot(page, 'console-playground');
  });

  test('overview with traffic', async () => {
    await page.click('nav.tabs a[data-screen="overview"]');
    await page.waitForSelector('#overview-load table');
    await screenshot(page, 'console-overview');
  });

  test('language: switches to Chinese and is remembered across a reload', async () => {
    await page.click('#lang-toggle');
    await expect(page.locator('nav.tabs a[data-screen="accounts"]').textContent()).resolves.toBe('账号');
    await page.reload();
    await page.waitForSelector('nav.tabs');
    await expect(page.locator('nav.tabs a[data-screen="accounts"]').textContent()).resolves.toBe('账号');
    await page.click('nav.tabs a[data-screen="accounts"]');
    await page.waitForSelector('table.accounts');
    await screenshot(page, 'console-accounts-zh');
  });

  test('phone width (375 px): no sideways scrolling on the main screens', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    for (const screen of ['accounts', 'add', 'playground', 'overview']) {
      await page.click(`nav.tabs a[data-screen="${screen}"]`);
      await page.waitForTimeout(150);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, screen).toBeLessThanOrEqual(0);
      await screenshot(page, `console-phone-${screen}`);
    }
    await page.setViewportSize({ width: 1280, height: 820 });
    await page.click('#lang-toggle'); // back to English for whoever runs next
  });

  test('logout ends the session; nothing was requested from outside this machine', async () => {
    await page.click('#logout');
    await page.waitForSelector('#admin-key');
    const status = await page.evaluate(async () => (await fetch('/v2/session')).status);
    expect(status).toBe(401);
    expect(externalRequests(requests)).toEqual([]);
    expect(requests.some((u) => u.includes('/v2/playground/chat'))).toBe(true);
  });
});
