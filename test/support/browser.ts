// Headless system Chromium through playwright-core (toolchain.md §6), and a recorder of every request
// a page makes, so tests can prove that nothing leaves the machine.

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** The flags from toolchain.md §6; --disable-dev-shm-usage also silences Debian's wrapper warning. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export const ARTIFACTS = resolve(import.meta.dir, '../artifacts');

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p): p is string => !!p && existsSync(p));
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium not found: install it (apt-get install chromium) or set CHROMIUM_PATH');
  return chromium.launch({ executablePath, args: ARGS, headless: true });
}

/** Records the URL of every request the page makes (documents, scripts, styles, fetches, fonts…). */
export function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}

/** The recorded URLs whose host is not on this machine (data: and blob: URLs never leave it). */
export function externalRequests(urls: string[]): string[] {
  return urls.filter((u) => {
    if (u.startsWith('data:') || u.startsWith('blob:') || u.startsWith('about:')) return false;
    const host = new URL(u).hostname;
    return !(host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host));
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  // from the top: a full-page shot of a scrolled page shows the sticky top bar in the middle
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}
