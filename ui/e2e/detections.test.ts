/**
 * Detections in a real browser against the compiled hub with its demo cameras: events written into the hub's
 * database (as the detector writes them) with a real JPEG snapshot are listed with their thumbnails, the filters
 * narrow the list, a deletion disappears live, and the playback bar carries a marker that seeks to the event.
 * Needs `npm run build`, Debian's chromium, ffmpeg.
 *
 *   node --import tsx --conditions=development --test ui/e2e/detections.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import type { SpawnedHub } from '../../hub/src/testing/spawn-hub.js';
import { waitFor } from '../../hub/src/testing/wait.js';
import { CHROMIUM, signedInHub } from './browser.js';

const FRONT = 'demo-front-door';
const LIVING = 'demo-living-room';

describe('detections', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};

  before(async () => {
    ({ hub, context, api, close } = await signedInHub({ HEARTH_DEMO: '1', HEARTH_DEMO_PHOTOS: '0' }));
  });
  after(() => close());

  test('list with thumbnails, filters, a live deletion, and a timeline marker that seeks', async () => {
    assert.equal((await api('/api/settings', { method: 'PATCH', body: { timeZone: 'UTC' } })).status, 200);
    const day = new Date().toISOString().slice(0, 10);
    const segment = await waitFor('a recorded segment of the front door', async () => {
      const { json } = await api(`/api/cameras/${FRONT}/segments?day=${day}`);
      return json.segments[0] as { id: number; startAt: number; endAt: number } | undefined;
    });

    // What the detector would have written: a person with its best frame on the front door, a pet in the
    // living room, and a vehicle on the front door before there was footage.
    const snapshot = `${FRONT}/${day}/person.jpg`;
    mkdirSync(path.join(hub.dataDir, 'snapshots', FRONT, day), { recursive: true });
    execFileSync('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1'],
      path.join(hub.dataDir, 'snapshots', snapshot),
    ]);
    const person = segment.startAt + 6000;
    // Before the footage but on the same day, even for a hub that started just after midnight.
    const vehicleAt = Math.max(Date.parse(`${day}T00:00:00Z`), segment.startAt - 60_000);
    const db = new Database(path.join(hub.dataDir, 'hearth.db'));
    db.pragma('busy_timeout = 5000');
    const insert = db.prepare(
      `insert into detection_events (camera_id, label, start_at, end_at, score, snapshot, snapshot_at, hits, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const ids = {
      person: Number(
        insert.run(FRONT, 'person', person, person + 4000, 0.87, snapshot, person, 4, person).lastInsertRowid,
      ),
      pet: Number(
        insert.run(LIVING, 'pet', person - 1000, null, 0.64, null, null, 2, person).lastInsertRowid,
      ),
      vehicle: Number(
        insert.run(FRONT, 'vehicle', vehicleAt, vehicleAt + 10_000, 0.7, null, null, 3, person)
          .lastInsertRowid,
      ),
    };
    db.prepare('insert into detection_event_segments (event_id, segment_id) values (?, ?)').run(
      ids.person,
      segment.id,
    );
    db.close();

    const page = await context.newPage();
    // The day in the address: the page's own "today" would move at midnight.
    await page.goto(`${hub.url}/detections?day=${day}`);
    await page.getByRole('heading', { level: 1, name: 'Detections' }).waitFor();
    const rows = page.getByTestId('detection');
    await waitFor('three detections listed', async () =>
      (await rows.count()) === 3 ? true : undefined,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; the page shows: ${await page.locator('main').innerText()}`);
    });
    assert.deepEqual(await ids_(page), [ids.person, ids.pet, ids.vehicle], 'newest first');

    const first = rows.first();
    await first.getByText('Person', { exact: true }).waitFor();
    await first.getByText('Front door (demo)').waitFor();
    await first.getByText('87% sure').waitFor();
    await first.getByText('0:04', { exact: true }).waitFor();
    await rows.nth(1).getByText('still going on').waitFor();
    await rows.nth(1).getByText('No picture').waitFor();
    // The snapshot is the JPEG itself, decoded by the browser.
    const thumb = first.locator('img.detection-thumb');
    await waitFor('the thumbnail decoded', async () =>
      (await thumb.evaluate((img) => (img as HTMLImageElement).naturalWidth)) === 320 ? true : undefined,
    );

    // Filters narrow the list and live in the address.
    await page.getByLabel('What').selectOption('pet');
    await page.waitForURL(/label=pet/);
    await waitFor('only the pet', async () => {
      const shown = await ids_(page);
      return shown.length === 1 && shown[0] === ids.pet ? true : undefined;
    });
    await page.getByLabel('What').selectOption('');
    await page.getByLabel('Camera').selectOption(FRONT);
    await waitFor('only the front door', async () =>
      JSON.stringify(await ids_(page)) === JSON.stringify([ids.person, ids.vehicle]) ? true : undefined,
    );

    // Deleted elsewhere (the owner's API): gone from the open page through the live stream.
    assert.equal((await api(`/api/detections/${ids.vehicle}`, { method: 'DELETE' })).status, 204);
    await waitFor('the vehicle gone without a reload', async () =>
      JSON.stringify(await ids_(page)) === JSON.stringify([ids.person]) ? true : undefined,
    );

    // The event opens the camera's recordings at its start.
    await first.getByRole('link').click();
    await page.waitForURL(new RegExp(`/cameras/${FRONT}/playback\\?day=${day}&t=${person}$`));
    const clock = page.locator('.clock-readout');
    const wall = async () => Number(await clock.getAttribute('data-wall'));
    await waitFor('the player at the event', async () =>
      Math.abs((await wall()) - person) < 1500 ? true : undefined,
    );

    // Elsewhere on the day, then the marker seeks back to the event.
    const dayMarkers = page.locator('.timebar-day .timebar-marker');
    await dayMarkers.first().waitFor();
    assert.equal(await dayMarkers.count(), 1, "only this camera's remaining event");
    const goTo = page.locator('form.goto');
    // After the event, so playing on only moves further from it.
    const away = new Date(segment.startAt + 9000).toISOString().slice(11, 19);
    await goTo.locator('input[name="at"]').fill(away);
    await goTo.getByRole('button', { name: 'Go' }).click();
    await waitFor('the player moved away', async () =>
      Math.abs((await wall()) - person) > 1900 ? true : undefined,
    );
    const label = `Person at ${new Date(person).toISOString().slice(11, 19)}`;
    assert.equal(await dayMarkers.getAttribute('aria-label'), label);
    await dayMarkers.click();
    await waitFor('the marker sought to the event', async () =>
      Math.abs((await wall()) - person) < 1500 ? true : undefined,
    );

    await page.getByRole('button', { name: '한국어' }).click();
    await page.goto(`${hub.url}/detections?day=${day}`);
    await page.getByRole('heading', { level: 1, name: '감지' }).waitFor();
    await rows.first().getByText('확신도 87%').waitFor();
  });

  test('the owner drags an ignored area over the camera picture, saves it, finds it after a reload, and resets it', async () => {
    // The test before leaves the owner's account in Korean.
    assert.equal((await api('/api/auth/me', { method: 'PATCH', body: { locale: 'en' } })).status, 200);
    const page = await context.newPage();
    await page.goto(`${hub.url}/cameras/${LIVING}/settings`);
    const section = page.getByTestId('detection-settings');
    await section.getByRole('heading', { name: 'Person and pet detection' }).waitFor();
    // Drawn over the camera's own still, once it has loaded (it sets the drawing surface's size).
    const picture = section.locator('img.camera-picture');
    await waitFor('the camera still decoded', async () =>
      (await picture.evaluate((img) => (img as HTMLImageElement).naturalWidth)) > 0 ? true : undefined,
    );
    const canvas = section.getByTestId('detection-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    const at = (x: number, y: number) => [box.x + box.width * x, box.y + box.height * y] as const;
    await page.mouse.move(...at(0.1, 0.2));
    await page.mouse.down();
    await page.mouse.move(...at(0.3, 0.4), { steps: 4 });
    await page.mouse.move(...at(0.5, 0.6), { steps: 4 });
    await page.mouse.up();
    const shapes = section.getByTestId('detection-shapes');
    await shapes.getByText('Ignored area 1').waitFor();
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByText('Saved. The camera uses these settings now.').waitFor();

    const { json } = await api(`/api/cameras/${LIVING}/detection`);
    assert.equal(json.source, 'stored');
    assert.equal(json.settings.enabled, false, 'a demo camera stays off unless switched on');
    assert.equal(json.settings.mask.length, 1);
    const rect: number[] = json.settings.mask[0].rect;
    for (const [i, expected] of [0.1, 0.2, 0.4, 0.4].entries())
      assert.ok(Math.abs(rect[i]! - expected) < 0.02, `rect ${JSON.stringify(rect)} is the dragged area`);

    await page.reload();
    await shapes.getByText('Ignored area 1').waitFor();
    assert.equal(await canvas.locator('.shape-mask').count(), 1, 'the saved area drawn on the picture');

    // Back to the installer's settings, after a second click: this demo hub's file has no entry, so the defaults.
    await section.getByRole('button', { name: 'Reset to the installer’s settings' }).click();
    await section.getByRole('button', { name: 'Forget the settings saved here?' }).click();
    await section.getByText('Reset. The camera uses the installer’s settings now.').waitFor();
    await section.getByText('The hub’s defaults.').waitFor();
    assert.equal(await canvas.locator('.shape-mask').count(), 0, 'the area gone from the picture');
    assert.equal(await section.getByRole('button', { name: /^Reset/ }).count(), 0, 'nothing saved to reset');
    const reset = await api(`/api/cameras/${LIVING}/detection`);
    assert.equal(reset.json.source, 'default');
    assert.deepEqual(reset.json.settings.mask, []);
    await page.close();
  });
});

/** The event ids the list shows, top to bottom. */
async function ids_(page: Page): Promise<number[]> {
  return page.getByTestId('detection').evaluateAll((items) => items.map((item) => Number(item.dataset.id)));
}
