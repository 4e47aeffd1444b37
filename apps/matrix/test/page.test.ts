/**
 * matrix.html in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
 * rendered from the fixture reports: one row per catalogue entry, three runtime columns, working
 * filters and details panel, no console or page error, and no request beyond the file itself.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { catalogueEntries } from '@closenotify/conformance';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderHtml } from '../src/html.ts';
import {
  BUN_FAIL_MESSAGE,
  BUN_UNEXPECTED_FAIL,
  DENO_EXPECTED_FAIL,
  DENO_UNEXPECTED_ERROR,
  fixtureMatrix,
} from './fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const isCi = process.env.CI === 'true';
// The one allowed skip: a developer machine without Chromium. In CI the browser must be there
// (.ci/run installs it), so there the tests run and fail on the missing executable.
const browserMissingOutsideCi = !existsSync(CHROMIUM) && !isCi;
if (browserMissingOutsideCi) console.warn(`browser test not run: ${CHROMIUM} is missing`);

const KEYS = catalogueEntries().map((entry) => entry.key);

describe.sequential('matrix.html in Chromium', () => {
  let dir: string;
  let pageUrl: string;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    if (browserMissingOutsideCi) return;
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing and CI=true: .ci/run must install chromium`);
    dir = mkdtempSync(join(tmpdir(), 'matrix-page-'));
    const file = join(dir, 'matrix.html');
    writeFileSync(file, renderHtml(fixtureMatrix()));
    pageUrl = pathToFileURL(file).href;
    context = await chromium.launchPersistentContext(join(dir, 'user-data'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    context.on('request', (request) => requests.push(request.url()));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  });

  afterAll(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    if (browserMissingOutsideCi) return;
    await page.goto(pageUrl);
  });

  const visibleKeys = () =>
    page
      .locator('#matrix tbody tr:visible')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')));

  it.skipIf(browserMissingOutsideCi)(
    'has three runtime columns with versions and TLS libraries',
    async () => {
      const headers = await page.locator('#matrix thead th[data-runtime]').allTextContents();
      expect(headers).toEqual(['node20.20.2 · OpenSSL 3.0.19', 'bun1.4.5 · BoringSSL', 'deno2.9.6 · rustls']);
      expect(await page.locator('#capabilities tbody tr').count()).toBe(fixtureMatrix().capabilities.length);
    },
  );

  it.skipIf(browserMissingOutsideCi)(
    'has exactly one row per catalogue entry, each with a cell per runtime',
    async () => {
      expect(await visibleKeys()).toEqual(KEYS);
      expect(await page.locator('#matrix tbody td.cell').count()).toBe(KEYS.length * 3);
      expect(await page.locator('#row-count').textContent()).toBe(`${KEYS.length} of ${KEYS.length} cases`);
    },
  );

  it.skipIf(browserMissingOutsideCi)('filters rows by case id', async () => {
    await page.locator('#case-filter').fill('shutdown-read');
    const expected = KEYS.filter((key) => key.includes('shutdown-read'));
    expect(expected.length).toBeGreaterThan(0);
    expect(await visibleKeys()).toEqual(expected);
    await page.locator('#case-filter').fill('');
    expect(await visibleKeys()).toEqual(KEYS);
  });

  it.skipIf(browserMissingOutsideCi)('filters rows by status, alone and with the case filter', async () => {
    await page.locator('#status-filter').selectOption('fail');
    expect(await visibleKeys()).toEqual(
      KEYS.filter((key) => key === BUN_UNEXPECTED_FAIL || key === DENO_EXPECTED_FAIL),
    );
    await page.locator('#status-filter').selectOption('unexpected');
    expect(await visibleKeys()).toEqual(
      KEYS.filter((key) => key === BUN_UNEXPECTED_FAIL || key === DENO_UNEXPECTED_ERROR),
    );
    await page.locator('#case-filter').fill(BUN_UNEXPECTED_FAIL);
    expect(await visibleKeys()).toEqual([BUN_UNEXPECTED_FAIL]);
  });

  it.skipIf(browserMissingOutsideCi)(
    'shows a cell message on hover and, on click, in the details panel',
    async () => {
      const cell = page.locator(`#matrix tbody tr[data-key="${BUN_UNEXPECTED_FAIL}"] td[data-column="1"]`);
      expect(await cell.getAttribute('title')).toContain(BUN_FAIL_MESSAGE);
      const details = page.locator('#details');
      expect(await details.isVisible()).toBe(false);
      await cell.click();
      expect(await details.isVisible()).toBe(true);
      expect(await details.locator('h2').textContent()).toBe(`${BUN_UNEXPECTED_FAIL} on bun`);
      expect(await details.locator('dd').allTextContents()).toContain(BUN_FAIL_MESSAGE);
      await details.locator('button').click();
      expect(await details.isVisible()).toBe(false);
    },
  );

  it.skipIf(browserMissingOutsideCi)('opens the details from the keyboard too', async () => {
    await page.locator(`#matrix tbody tr[data-key="${DENO_UNEXPECTED_ERROR}"] td[data-column="2"]`).focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('#details h2').textContent()).toBe(`${DENO_UNEXPECTED_ERROR} on deno`);
  });

  it.skipIf(browserMissingOutsideCi)(
    'logged no console or page error and requested nothing but itself',
    () => {
      expect(problems).toEqual([]);
      expect(new Set(requests)).toEqual(new Set([pageUrl]));
    },
  );
});
