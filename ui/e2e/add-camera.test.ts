/**
 * "Add over Bluetooth" in a real browser against the real, compiled hub, with node-ble talking to a
 * private dbus-daemon and the fake BlueZ whose fake camera speaks Improv and the Hearth service: Wi-Fi
 * entered once, scan, choose, name, press the camera's button when asked, and the camera then uploads
 * with the token it received over BLE, its photos in the gallery. Needs `npm run build`, chromium, dbus.
 *
 *   node --import tsx --conditions=development --test ui/e2e/add-camera.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { startVirtualCamera } from '../../hub/src/photos/virtual-camera.js';
import { type PrivateBus, startPrivateBus } from '../../hub/src/testing/ble/dbus-daemon.js';
import { type FakeBluez, startFakeBluez } from '../../hub/src/testing/ble/fake-bluez.js';
import { FakeCamera } from '../../hub/src/testing/ble/fake-camera.js';
import type { SpawnedHub } from '../../hub/src/testing/spawn-hub.js';
import { waitFor } from '../../hub/src/testing/wait.js';
import { CHROMIUM, signedInHub } from './browser.js';

const NETWORK = { ssid: 'HomeNet', password: 'correct horse battery' };

describe('add a camera over Bluetooth', {
  skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}`,
}, () => {
  let bus: PrivateBus;
  let bluez: FakeBluez;
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};
  let virtual: ReturnType<typeof startVirtualCamera> | undefined;

  before(async () => {
    bus = await startPrivateBus();
    bluez = await startFakeBluez(bus.address);
    ({ hub, context, api, close } = await signedInHub({
      DBUS_SYSTEM_BUS_ADDRESS: bus.address,
      // The most talkative log, to show the password is not in it either.
      HEARTH_LOG_LEVEL: 'debug',
    }));
  });

  after(async () => {
    await virtual?.stop();
    await close();
    await bluez.stop();
    await bus.stop();
  });

  test('wizard end to end: Wi-Fi, scan, name, button, adopted; the camera uploads with its BLE token', async () => {
    const fake = new FakeCamera({
      address: 'A4:CF:12:30:00:01',
      name: 'ESP32-CAM',
      rssi: -52,
      network: NETWORK,
      requireAuthorization: true,
      onEnrolled: (enrolment) => {
        virtual = startVirtualCamera({ hubUrl: hub.url, token: enrolment.deviceToken, intervalSeconds: 600 });
      },
    });
    bluez.add(fake.peripheral);
    const page = await context.newPage();
    const bodies: string[] = [];
    page.on('response', async (response) => {
      if (new URL(response.url()).pathname.startsWith('/api/'))
        bodies.push(await response.text().catch(() => ''));
    });

    await page.goto(`${hub.url}/cameras`);
    await page.getByRole('link', { name: 'Add over Bluetooth' }).click();
    await page.getByRole('heading', { level: 1, name: 'Add a camera' }).waitFor();
    const wifi = page.getByTestId('wifi');
    await wifi.getByLabel('Network name (SSID)').fill(NETWORK.ssid);
    await wifi.getByLabel('Wi-Fi password').fill(NETWORK.password);
    await wifi.getByRole('button', { name: 'Save' }).click();

    const scan = page.getByTestId('scan');
    await scan.getByRole('button', { name: 'Look for cameras' }).click();
    const choice = scan.locator('.scan-choice').filter({ hasText: 'A4:CF:12:30:00:01' });
    await choice.waitFor();
    assert.match((await choice.textContent()) ?? '', /Strong signal \(-52 dBm\).*will ask for its button/);
    await choice.click();
    await scan.getByLabel('Name for this camera').fill('Garden cam');
    await scan.getByRole('button', { name: 'Add camera' }).click();

    const progress = page.getByTestId('adoption');
    await progress.getByText('Press the button on the camera now').waitFor();
    fake.pressButton();
    await progress.getByText('“Garden cam” is part of the household.').waitFor({ timeout: 45_000 });
    await progress.getByRole('link', { name: 'See its photos' }).click();
    await page.getByRole('heading', { level: 1, name: 'Photos' }).waitFor();
    await waitFor('a thumbnail of its first burst', () =>
      page
        .locator('.burst .photo-tile img')
        .first()
        .evaluate((img: HTMLImageElement) => img.naturalWidth > 0)
        .catch(() => false),
    );
    // In range: "Capture now" goes straight over Bluetooth, and the panel says so.
    await page
      .getByTestId('ble-presence')
      .getByText(/^Last reached /)
      .waitFor();
    await page.getByRole('button', { name: 'Capture now' }).click();
    await page
      .getByTestId('recent-commands')
      .getByText(/Capture a burst · .* · over Bluetooth/)
      .waitFor();
    assert.equal(fake.commands.length, 1);
    // The owner's factory reset, over Bluetooth: the camera forgets the hub; its photos stay.
    await page.getByRole('button', { name: 'Factory reset' }).click();
    await page.getByRole('button', { name: 'Erase its Wi-Fi and enrolment?' }).click();
    await page.getByText('This camera is not linked to a device').waitFor();
    assert.equal(fake.enrolment, null);
    await page.locator('.burst .photo-tile').first().waitFor();
    const camera = (await api('/api/cameras/garden-cam')).json.camera;
    assert.equal(camera.kind, 'esp32');
    assert.equal(camera.deviceId, null);
    assert.equal(
      bodies.some((body) => body.includes(NETWORK.password)),
      false,
      'the password never comes back',
    );
    assert.ok(
      hub.logs.some((entry) => 'ble' in entry),
      'the hub logged its Bluetooth state',
    );
    assert.equal(JSON.stringify(hub.logs).includes(NETWORK.password), false, 'nor is it logged');
  });
});
