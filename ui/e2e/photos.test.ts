/**
 * The photo gallery in a real browser against the real, compiled hub in demo mode, whose virtual
 * battery camera uploads bursts of real JPEGs over HTTP as the firmware will: thumbnails and a best
 * shot appear without a reload, a setting changed in the form reaches the camera on its next wake,
 * "capture now" is delivered, acknowledged and not delivered again, and favourite and delete work.
 * Needs `npm run build`, Debian's chromium and ffmpeg.
 *
 *   node --import tsx --conditions=development --test ui/e2e/photos.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import type { SpawnedHub } from '../../hub/src/testing/spawn-hub.js';
import { waitFor } from '../../hub/src/testing/wait.js';
import { CHROMIUM, signedInHub } from './browser.js';

const CAMERA = 'demo-garden';

interface PhotoJson {
  id: number;
  burstId: string;
  width: number;
  wakeReason: string;
  best: boolean;
  state: string;
  favorite: boolean;
}

describe('photo gallery', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'hearth-photos-e2e-'));

  before(async () => {
    // The demo camera wakes every 10 s instead of 30: the same waits, a third as long.
    const config = path.join(configDir, 'hearth.json');
    writeFileSync(config, JSON.stringify({ photos: { demoWakeSeconds: 10 } }));
    ({ hub, context, api, close } = await signedInHub({
      HEARTH_DEMO: '1',
      HEARTH_DEMO_PHOTOS: '1',
      HEARTH_CONFIG: config,
    }));
  });

  after(async () => {
    await close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const today = async () => {
    const { timeZone } = (await api('/api/settings')).json.settings;
    return new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date());
  };
  const photos = async (): Promise<PhotoJson[]> =>
    (await api(`/api/cameras/${CAMERA}/photos?day=${await today()}`)).json.photos;

  test('bursts with thumbnails and a best shot; a setting and a command reach the virtual camera once; favourite, delete, Korean', async () => {
    const page = await context.newPage();
    await page.goto(`${hub.url}/cameras/${CAMERA}`);
    await page.getByRole('link', { name: 'Photos' }).click();
    await page.getByRole('heading', { level: 1, name: 'Photos' }).waitFor();

    // The demo camera's first burst (it wakes as the hub starts): three thumbnails, the best one first.
    const firstBurst = page.locator('.burst').first();
    await waitFor(
      'three loaded thumbnails in the first burst, one marked best',
      async () => {
        const loaded = await firstBurst
          .locator('.photo-tile img')
          .evaluateAll((imgs) => imgs.filter((img) => (img as HTMLImageElement).naturalWidth > 0).length);
        const best = await firstBurst.locator('.photo-tile.photo-best img').count();
        return loaded === 3 && best === 1 ? true : undefined;
      },
      60_000,
    );
    assert.equal(
      await firstBurst.locator('.photo-tile').first().getAttribute('class'),
      'photo-tile photo-best',
    );
    const status = page.getByTestId('camera-device-status');
    await status.getByText('virtual-0.1').waitFor();
    await status.getByText(/^4\.10 V$/).waitFor();
    // The cameras grid gets its picture from the newest photo (a battery camera has no stream).
    const [session] = await context.cookies();
    const snapshot = await fetch(`${hub.url}/api/cameras/${CAMERA}/snapshot.jpg`, {
      headers: { cookie: `${session!.name}=${session!.value}` },
    });
    assert.equal(snapshot.status, 200);
    assert.equal(snapshot.headers.get('content-type'), 'image/jpeg');

    // A setting changed in the form: smaller pictures, two per burst, waking every 10 s.
    await page.getByText('Camera settings', { exact: true }).click();
    const form = page.getByTestId('camera-device-settings');
    assert.equal(await form.getByLabel('Picture size').inputValue(), 'VGA', 'the firmware default is shown');
    await form.getByLabel('Picture size').selectOption('QVGA');
    await form.getByLabel('Photos per burst').fill('2');
    await form.getByLabel('Wake every (seconds)').fill('10');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved. The camera picks them up when it next wakes.').waitFor();
    // The camera takes it with its next upload reply and reports the version it applied on the one after.
    await page.getByText('The camera has these settings.').waitFor({ timeout: 90_000 });
    const withNewSettings = await waitFor(
      'a burst taken with the new settings',
      async () => {
        const list = await photos();
        const newest = list.filter((p) => p.burstId === list[0]?.burstId);
        return newest.length === 2 && newest.every((p) => p.width === 320) ? newest[0]!.burstId : undefined;
      },
      30_000,
    );
    await page.locator(`.burst[data-burst="${withNewSettings}"] .photo-tile`).nth(1).waitFor();

    // "Capture now": listed as waiting, carried by the next reply, the camera wakes for it and
    // acknowledges it; a later wake does not get it again.
    await page.getByRole('button', { name: 'Capture now' }).click();
    await page.getByTestId('pending-commands').getByText('Capture a burst').waitFor();
    await page
      .locator('.burst-head')
      .filter({ hasText: 'Woken by capture now' })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.getByTestId('pending-commands').getByText('Nothing is waiting.').waitFor({ timeout: 30_000 });
    const commandBursts = async () =>
      new Set((await photos()).filter((p) => p.wakeReason === 'command').map((p) => p.burstId)).size;
    const burstsNow = new Set((await photos()).map((p) => p.burstId)).size;
    await waitFor(
      'a timer wake after the acknowledgement',
      async () => (new Set((await photos()).map((p) => p.burstId)).size > burstsNow ? true : undefined),
      30_000,
    );
    assert.equal(await commandBursts(), 1, 'the acknowledged command was not delivered again');

    // Favourite and delete from the viewer.
    const bestTile = page.locator('.burst').first().locator('.photo-tile.photo-best');
    await bestTile.waitFor();
    const bestId = Number(await bestTile.getAttribute('data-photo'));
    await bestTile.click();
    const viewer = page.getByTestId('photo-viewer');
    await viewer.locator('img.photo-large').waitFor();
    await viewer.getByRole('button', { name: 'Mark favourite' }).click();
    await viewer.getByRole('button', { name: 'Remove favourite' }).waitFor();
    assert.equal((await api(`/api/photos/${bestId}`)).json.photo.favorite, true);
    await viewer.getByRole('button', { name: 'Delete photo' }).click();
    await viewer.getByRole('button', { name: 'Delete for good?' }).click();
    await page.locator(`.photo-tile[data-photo="${bestId}"]`).waitFor({ state: 'detached' });
    assert.equal((await api(`/api/photos/${bestId}`)).status, 404);

    await page.getByRole('button', { name: '한국어' }).click();
    await page.getByRole('heading', { level: 1, name: '사진' }).waitFor();
    await page.getByText('카메라 상태', { exact: true }).waitFor();
  });
});
