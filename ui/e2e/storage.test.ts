/**
 * The Storage page in a real browser against the real, compiled hub with its demo cameras: NAS state,
 * per-camera usage with the forecast sentence, retention settings refused with the hub's reason and
 * saved, deletions listed live, and the Korean wording. Needs `npm run build`, Debian's chromium, ffmpeg.
 *
 *   node --import tsx --conditions=development --test ui/e2e/storage.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import type { SpawnedHub } from '../../hub/src/testing/spawn-hub.js';
import { waitFor } from '../../hub/src/testing/wait.js';
import { CHROMIUM, signedInHub } from './browser.js';

describe('storage page', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};

  before(async () => {
    ({ hub, context, api, close } = await signedInHub({ HEARTH_DEMO: '1' }));
  });

  after(() => close());

  test('NAS, usage and forecast per camera; a minimum that cannot fit is refused with the reason; a valid change saves; deletions appear live; Korean', async () => {
    // Footage of both demo cameras first, so each has a daily rate and a forecast.
    await waitFor('a segment of each demo camera', async () => {
      const { json } = await api('/api/storage');
      return json.cameras.filter((c: { segments: number }) => c.segments > 0).length === 2 ? true : undefined;
    });
    const page = await context.newPage();
    await page.goto(`${hub.url}/storage`);
    await page.getByRole('heading', { level: 1, name: 'Storage' }).waitFor();
    await page.getByTestId('nas-state').getByText('Mounted and writable').waitFor();
    for (const name of ['Front door (demo)', 'Living room (demo)']) {
      await page
        .locator('[data-testid="forecast"]')
        .filter({
          hasText: new RegExp(`^${name.replace(/[()]/g, '\\$&')}: [\\d.]+ days fit at the current rate\\.$`),
        })
        .waitFor();
    }

    // A minimum of ten years at the demo's rate under a 1 GB cap cannot fit: the hub's reason shows.
    const before = (await api('/api/retention')).json;
    const form = page.getByTestId('retention-form');
    await form.getByLabel('Largest size on the NAS (GB)').fill('1');
    await form.getByLabel('Keep at least (days)').fill('3650');
    await form.getByLabel('Keep at most (days)').fill('0');
    await form.getByRole('button', { name: 'Save' }).click();
    const refusal = form.getByText(/^Not saved: The minimum days do not fit at the current daily rates/);
    await refusal.waitFor();
    assert.match((await refusal.textContent()) ?? '', /demo-front-door 3650 d ×/);
    assert.deepEqual((await api('/api/retention')).json, before, 'nothing of the refused budget was stored');

    // The browser refuses a minimum above the maximum before asking the hub.
    await form.getByLabel('Keep at most (days)').fill('2');
    await form.getByLabel('Keep at least (days)').fill('5');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('The minimum is above the maximum.').waitFor();

    // A valid budget: 2 days at most, the front door at least 1; saved and read back.
    await form.getByLabel('Largest size on the NAS (GB)').fill('0');
    await form.getByLabel('Keep at least (days)').fill('0');
    await form.getByLabel('At least (days), Front door (demo)').fill('1');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Retention saved.').waitFor();
    const saved = (await api('/api/retention')).json;
    assert.deepEqual(saved.defaults, { maxDays: 2, minDays: 0 });
    assert.deepEqual(saved.cameras, { 'demo-front-door': { minDays: 1 } });

    // Squeeze the budget so the deleter runs: the list of deletions fills in without a reload.
    assert.equal(
      (await api('/api/retention', { method: 'PUT', body: { ...saved, cameras: {}, maxBytes: 1 } })).status,
      200,
    );
    await page.getByTestId('deletions').getByText('Storage limit').first().waitFor({ timeout: 45_000 });

    await page.getByRole('button', { name: '한국어' }).click();
    await page.getByRole('heading', { level: 1, name: '저장 공간' }).waitFor();
    await page.getByText('보관 설정', { exact: true }).waitFor();
  });
});
