/**
 * The UI shell in a real browser against the real, compiled hub (a child process with its own
 * data folder). Needs `npm run build` first (hub/dist and ui/dist) and Debian's chromium.
 *
 *   node --import tsx --conditions=development --test ui/e2e/ui.test.ts
 *
 * Screenshots (phone and desktop) go to $HEARTH_E2E_SHOTS or a fresh temp folder; the path is
 * printed as a test diagnostic.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { REPO_ROOT, runCli, spawnHub, tempDir } from '../../hub/src/testing/spawn-hub.js';
import { CHROMIUM, DESKTOP, launch } from './browser.js';

const WAIT = { timeout: 15_000 };

async function shot(page: Page, dir: string, name: string): Promise<void> {
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

test('UI shell: first-run setup, Korean, one live stream, events appear without reload', {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`,
  timeout: 120_000,
}, async (t) => {
  assert.ok(
    existsSync(path.join(REPO_ROOT, 'ui', 'dist', 'index.html')),
    'ui/dist is not built: npm run build',
  );

  const hub = await spawnHub();
  const userDataDir = tempDir('hearth-chromium-');
  const shots = process.env.HEARTH_E2E_SHOTS ?? tempDir('hearth-shots-');
  mkdirSync(shots, { recursive: true });
  t.diagnostic(`screenshots in ${shots}`);
  const context = await launch(userDataDir);
  t.after(async () => {
    await context.close().catch(() => {});
    await hub.stop();
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(hub.dataDir, { recursive: true, force: true });
  });

  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  const streams: string[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/events/stream') streams.push(request.url());
  });
  // Count EventSource objects the app creates (a browser reconnect reuses the same object).
  await page.addInitScript(() => {
    const Native = window.EventSource;
    const counter = window as unknown as { __eventSources: number };
    counter.__eventSources = 0;
    window.EventSource = class extends Native {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        counter.__eventSources += 1;
      }
    };
  });
  let documentLoads = 0;
  page.on('load', () => {
    documentLoads += 1;
  });

  // First run: the hub has no owner, so the app shows setup.
  assert.ok(hub.setupCode, 'a fresh hub prints a setup code');
  await page.goto(hub.url);
  await page.getByRole('heading', { name: 'Set up Hearth' }).waitFor(WAIT);
  await shot(page, shots, 'phone-setup');

  // Mismatched confirmation is caught next to the field, before any request.
  await page.getByLabel('Setup code').fill(hub.setupCode);
  await page.getByLabel('Username').fill('minji');
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await page.getByLabel('Repeat password').fill('something else');
  await page.getByRole('button', { name: 'Create owner account' }).click();
  await page.getByText('The passwords do not match.').waitFor(WAIT);

  await page.getByLabel('Repeat password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create owner account' }).click();

  // Setup signs the owner in: the dashboard frame with its navigation.
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor(WAIT);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Dashboard', 'Devices', 'Events', 'Users', 'Settings']) {
    await nav.getByRole('link', { name }).waitFor(WAIT);
  }
  await page.locator('.live.live-open').waitFor(WAIT);
  await shot(page, shots, 'phone-dashboard-en');

  // Korean: every string switches, <html lang> follows, and the account remembers it.
  const saved = page.waitForResponse(
    (response) => response.url().endsWith('/api/auth/me') && response.request().method() === 'PATCH',
  );
  await page.getByRole('button', { name: '한국어' }).click();
  await page.getByRole('heading', { level: 1, name: '대시보드' }).waitFor(WAIT);
  await page.getByRole('navigation', { name: '주 메뉴' }).getByRole('link', { name: '이벤트' }).waitFor(WAIT);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
  assert.equal((await saved).status(), 200);
  await shot(page, shots, 'phone-dashboard-ko');

  // The events page, reached by client-side navigation.
  await page.getByRole('navigation', { name: '주 메뉴' }).getByRole('link', { name: '이벤트' }).click();
  await page.getByRole('heading', { level: 1, name: '이벤트' }).waitFor(WAIT);
  await page.locator('.event-list, .empty').first().waitFor(WAIT);
  await page.evaluate(() => {
    (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
  const loadsBefore = documentLoads;

  // Another process writes a system event; the hub tails it into the live stream.
  const cli = await runCli(['device', 'add', 'porch-cam', '--kind', 'camera'], { dataDir: hub.dataDir });
  assert.equal(cli.code, 0, `hearth device add failed: ${cli.stderr}`);

  const row = page.locator('.event-list .event', { hasText: 'porch-cam' });
  await row.first().waitFor(WAIT);
  // Worded in Korean from the event's details, not the hub's English message.
  assert.match(
    (await row.first().locator('.event-message').textContent()) ?? '',
    /기기 "porch-cam"\(camera\)이\(가\) 추가되었습니다/,
  );
  assert.equal(documentLoads, loadsBefore, 'the page was not reloaded');
  assert.equal(
    await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
    true,
    'same document, no reload',
  );
  await shot(page, shots, 'phone-events-ko');

  // The device itself is listed (the devices topic drives the list).
  await page.getByRole('navigation', { name: '주 메뉴' }).getByRole('link', { name: '기기' }).click();
  await page.locator('.row', { hasText: 'porch-cam' }).getByText('신규').waitFor(WAIT);
  await shot(page, shots, 'phone-devices-ko');

  // Desktop layout of the same pages.
  await page.setViewportSize(DESKTOP);
  await shot(page, shots, 'desktop-devices-ko');
  await page.getByRole('navigation', { name: '주 메뉴' }).getByRole('link', { name: '이벤트' }).click();
  await row.first().waitFor(WAIT);
  await shot(page, shots, 'desktop-events-ko');
  await page.getByRole('navigation', { name: '주 메뉴' }).getByRole('link', { name: '대시보드' }).click();
  await page.locator('.stat-new .stat-value', { hasText: '1' }).waitFor(WAIT);
  await shot(page, shots, 'desktop-dashboard-ko');

  // One EventSource for the whole visit, however many pages subscribed, and one request for it.
  const created = await page.evaluate(() => (window as unknown as { __eventSources: number }).__eventSources);
  assert.equal(created, 1, `the app created ${created} EventSource objects`);
  assert.equal(
    streams.length,
    1,
    `expected one live stream request, saw ${streams.length}: ${streams.join(', ')}`,
  );
  assert.deepEqual(problems, []);
});
