// The single binary on its own: built into one temp dir, run from another, empty one (nothing beside
// it but the data directory it creates). Console page and chunks, /docs with its embedded Swagger UI,
// /docs/json, /healthz, --help/--version; in Chromium, not one request leaves the machine.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { buildBinary, startBinary, type RunningBinary } from '../support/binary';
import { externalRequests, launchChromium, recordRequests, screenshot } from '../support/browser';

setDefaultTimeout(20_000);
const ADMIN_KEY = 'binary-e2e-admin-key-0123';
let binDir: string;
let runDir: string;
let bin: string;
let q2api: RunningBinary;
let browser: Browser;

beforeAll(async () => {
  binDir = mkdtempSync(join(tmpdir(), 'q2api-bin-'));
  runDir = mkdtempSync(join(tmpdir(), 'q2api-run-'));
  [bin, browser] = await Promise.all([buildBinary(binDir), launchChromium()]);
  q2api = await startBinary(bin, runDir, { ADMIN_KEY, MASTER_KEY: 'c3'.repeat(32) });
});

afterAll(async () => {
  await browser?.close();
  await q2api?.stop();
  rmSync(binDir, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

describe('the binary from an empty directory', () => {
  test('--help and --version', async () => {
    for (const [arg, expected] of [['--version', /^q2api \d+\.\d+\.\d+/], ['--help', /Usage:/]] as const) {
      const p = Bun.spawnSync([bin, arg], { cwd: runDir, env: { PATH: process.env.PATH ?? '' } });
      expect(p.exitCode).toBe(0);
      expect(p.stdout.toString()).toMatch(expected);
    }
  });

  test('serves /healthz, the console with its chunks, /docs with its assets and /docs/json', async () => {
    console.log(`start-up to first healthy /healthz: ${q2api.startMs.toFixed(0)} ms`);
    expect(readdirSync(runDir)).toEqual(['data']); // it brought nothing but its data directory
    const health = await fetch(`${q2api.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: { dialect: 'sqlite', reachable: true } });

    const page = await fetch(`${q2api.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    const chunks = [...html.matchAll(/(?:src|href)="(\/chunk-[\w-]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(chunks.length).toBe(2);
    for (const c of chunks) expect((await fetch(q2api.url + c)).status).toBe(200);
    expect((await fetch(`${q2api.url}/`, { method: 'HEAD' })).status).toBe(200);

    const docs = await fetch(`${q2api.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/docs-assets/swagger-ui-bundle.js');
    for (const a of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const r = await fetch(`${q2api.url}/docs-assets/${a}`);
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    }
  });

  test('/docs/json describes every public and admin route, with schemas and security', async () => {
    const spec = (await (await fetch(`${q2api.url}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { summary?: string; security?: unknown[]; requestBody?: { content: Record<string, unknown> } }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(spec.openapi).toStartWith('3.1');
    for (const p of ['/healthz', '/v1/messages', '/v1/chat/completions', '/v1/models', '/v2/accounts', '/v2/accounts/{id}', '/v2/auth/start', '/v2/session', '/v2/playground/chat']) {
      expect(Object.keys(spec.paths), p).toContain(p);
    }
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        if (path.startsWith('/v2/') && !(path === '/v2/session' && method === 'post')) expect(op.security, `${method} ${path}`).toBeDefined();
      }
    }
    expect(spec.paths['/v1/messages']!.post!.requestBody!.content['application/json']).toBeDefined();
    expect(spec.paths['/v2/accounts']!.post!.requestBody!.content['application/json']).toBeDefined();
    expect(Object.keys(spec.components.securitySchemes)).toEqual(expect.arrayContaining(['adminKey', 'clientKey', 'consoleSession']));
  });

  test('in Chromium, the console and the docs load with no request leaving the machine', async () => {
    const page = await browser.newPage();
    const urls = recordRequests(page);
    await page.goto(`${q2api.url}/`);
    await page.waitForSelector('body[data-ready] #admin-key');
    await page.goto(`${q2api.url}/docs`);
    await page.waitForSelector('.swagger-ui .info .title');
    await page.waitForSelector('.opblock-tag-section');
    await screenshot(page, 'docs');
    expect(urls.some((u) => u.endsWith('/docs/json'))).toBe(true);
    expect(externalRequests(urls)).toEqual([]);
    await page.close();
  });

  test('ENABLE_CONSOLE=false: no page and no /v2, but HEAD / and /docs stay', async () => {
    const other = mkdtempSync(join(tmpdir(), 'q2api-run-'));
    const off = await startBinary(bin, other, { ADMIN_KEY, MASTER_KEY: 'c3'.repeat(32), ENABLE_CONSOLE: 'false' });
    try {
      expect((await fetch(`${off.url}/`)).status).toBe(404);
      expect((await fetch(`${off.url}/`, { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(`${off.url}/v2/session`, { method: 'POST', body: '{}' })).status).toBe(404);
      expect((await fetch(`${off.url}/docs/json`)).status).toBe(200);
    } finally {
      await off.stop();
      rmSync(other, { recursive: true, force: true });
    }
  });
});
