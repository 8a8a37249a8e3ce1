/**
 * Camera firmware in a real browser against the compiled hub: the owner uploads firmware.bin, the hub
 * signs it; a camera on an older version wakes and is offered it, fetches it, comes back on the new
 * version — each step appears live on the Firmware page and on the camera's status panel; a broken
 * upload is refused with its reason. Korean too. Needs `npm run build` and chromium.
 *
 *   node --import tsx --conditions=development --test ui/e2e/firmware.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import sharp from 'sharp';
import { esp32Image } from '../../hub/src/testing/esp32-image.js';
import { type SpawnedHub, tempDir } from '../../hub/src/testing/spawn-hub.js';
import { CHROMIUM, signedInHub } from './browser.js';

describe('camera firmware', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};
  let token = '';
  let deviceId = 0;
  let burst = 0;
  const dir = tempDir('hearth-firmware-e2e-');

  before(async () => {
    ({ hub, context, api, close } = await signedInHub({}));
    const created = await api('/api/devices', {
      method: 'POST',
      body: { name: 'Garden cam', kind: 'camera' },
    });
    token = created.json.token;
    deviceId = created.json.device.id;
    const camera = await api('/api/cameras', {
      method: 'POST',
      body: { id: 'garden', name: 'Garden', kind: 'esp32', deviceId },
    });
    assert.equal(camera.status, 201, JSON.stringify(camera.json));
  });
  after(() => close());

  /** One wake of the camera as the firmware sends it; returns the JSON reply. */
  async function wake(meta: Record<string, unknown>) {
    burst += 1;
    const body = new FormData();
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#363' } })
      .jpeg()
      .toBuffer();
    body.append('photo', new Blob([new Uint8Array(jpeg)]), 'p.jpg');
    body.append(
      'meta',
      JSON.stringify({
        burstId: `e2e${burst}`,
        seq: 0,
        capturedAt: Date.now(),
        wakeReason: 'timer',
        ...meta,
      }),
    );
    const response = await fetch(`${hub.url}/api/device/photos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body,
    });
    assert.equal(response.status, 201);
    return (await response.json()) as { update?: { version: string; url: string } };
  }

  test('upload and sign, offered to the older camera, downloaded, installed: live on both pages', async () => {
    const good = path.join(dir, 'firmware.bin');
    writeFileSync(good, esp32Image({ version: '1.4.0', bytes: 200_000 }));
    const broken = path.join(dir, 'broken.bin');
    writeFileSync(broken, esp32Image({ version: '1.5.0', bytes: 200_000 }).subarray(0, 150_000));

    const page = await context.newPage();
    await page.goto(`${hub.url}/devices`);
    await page.getByRole('link', { name: 'Camera firmware' }).click();
    await page.getByRole('heading', { level: 1, name: 'Camera firmware' }).waitFor();
    const form = page.getByTestId('firmware-upload');
    await form.getByRole('button', { name: 'Upload and sign' }).click();
    await form.getByText('Choose the firmware.bin file.').waitFor();
    await form.getByLabel('Firmware image').setInputFiles(broken);
    await form.getByRole('button', { name: 'Upload and sign' }).click();
    await form.getByText('The image is truncated or damaged: its appended SHA-256 does not match.').waitFor();
    await form.getByLabel('Firmware image').setInputFiles(good);
    await form.getByLabel('Notes').fill('Faster Wi-Fi join');
    await form.getByRole('button', { name: 'Upload and sign' }).click();
    await form.getByText('Version 1.4.0 is signed and will be offered to older cameras.').waitFor();
    const card = page.getByTestId('firmware-1.4.0');
    await card.getByText('No camera has been offered this version yet.').waitFor();
    await card.getByText('Faster Wi-Fi join').waitFor();

    // The camera on 1.3.0 wakes: the reply offers the image; the table says so without a reload.
    const reply = await wake({ firmware: '1.3.0' });
    assert.equal(reply.update?.version, '1.4.0');
    await card
      .getByTestId('rollouts')
      .getByRole('row', { name: /Garden cam offered 1\.3\.0/ })
      .waitFor();
    const download = await fetch(`${hub.url}${reply.update!.url}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(download.status, 200);
    await download.arrayBuffer();
    await card.getByText('downloading').waitFor();

    // On the camera's page the status panel follows along.
    const cameraPage = await context.newPage();
    await cameraPage.goto(`${hub.url}/cameras/garden/photos`);
    await cameraPage.getByTestId('firmware-update').getByText('update 1.4.0: downloading').waitFor();
    await wake({ firmware: '1.4.0' });
    await cameraPage.getByTestId('firmware-update').getByText('update 1.4.0: installed').waitFor();
    await card.getByText('installed').waitFor();

    // Korean, then withdrawing the image.
    await api('/api/auth/me', { method: 'PATCH', body: { locale: 'ko' } });
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '카메라 펌웨어' }).waitFor();
    await page.getByTestId('firmware-1.4.0').getByText('설치됨').waitFor();
    await page.getByTestId('firmware-1.4.0').getByRole('button', { name: '회수' }).click();
    await page.getByRole('button', { name: '더 이상 제공하지 않을까요?' }).click();
    await page.getByText('아직 올린 펌웨어가 없습니다.').waitFor();
    assert.deepEqual((await api('/api/firmware')).json.images, []);
  });
});
