/**
 * Adding a camera over Bluetooth through the API, against the real hub (in this process, real HTTP,
 * real SQLite), node-ble on a private dbus-daemon and the fake BlueZ with fake cameras: Wi-Fi entered
 * once and sealed, scan, adoption with the button press, the camera then uploading with the token it
 * got over BLE; a wrong password fails cleanly with nothing created; bad input gets its 4xx; a hub
 * killed mid-adoption leaves no half-adopted device.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startVirtualCamera } from '../photos/virtual-camera.js';
import { type PrivateBus, startPrivateBus } from '../testing/ble/dbus-daemon.js';
import { type FakeBluez, startFakeBluez } from '../testing/ble/fake-bluez.js';
import { FakeCamera } from '../testing/ble/fake-camera.js';
import { spawnHub } from '../testing/spawn-hub.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

const NETWORK = { ssid: 'HomeNet', password: 'correct horse battery' };

let bus: PrivateBus;
let bluez: FakeBluez;
let t: TestHub;
let owner: TestClient;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  bus = await startPrivateBus();
  bluez = await startFakeBluez(bus.address);
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  t = await startTestHub({ photos: { uploadsPerMinute: 0 }, ble: { contactSeconds: 20 } });
  owner = await t.owner();
  await waitFor('the hub to find the adapter', async () => {
    const { body } = await owner.get('/api/ble');
    return body.status.state === 'ready' ? true : undefined;
  });
});

after(async () => {
  for (const stop of stops) await stop();
  await t.stop();
  await bluez.stop();
  await bus.stop();
});

const adoption = async (id: number) => (await owner.get(`/api/ble/adoptions/${id}`)).body.adoption;

test('owner enters the Wi-Fi once; it is sealed: never returned, never in the database in plain text', async () => {
  const viewer = await t.userWithRole('member');
  assert.equal((await viewer.put('/api/ble/wifi', NETWORK)).status, 403);
  assert.equal((await owner.put('/api/ble/wifi', { ssid: 'HomeNet', password: 'short' })).status, 400);
  assert.equal((await owner.put('/api/ble/wifi', { ssid: 'x'.repeat(33), password: '' })).status, 400);
  const saved = await owner.put('/api/ble/wifi', NETWORK);
  assert.equal(saved.status, 200);
  assert.deepEqual(saved.body, { ssid: 'HomeNet', passwordSet: true });
  assert.deepEqual((await owner.get('/api/ble/wifi')).body, { ssid: 'HomeNet', passwordSet: true });
  t.hub.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  for (const file of ['hearth.db', 'hearth.db-wal'])
    assert.equal(
      readFileSync(path.join(t.dataDir, file), { flag: 'r' }).includes(Buffer.from(NETWORK.password)),
      false,
      `${file} holds no plain password`,
    );
  const key = statSync(path.join(t.dataDir, 'secrets', 'wifi.key'));
  assert.equal(key.mode & 0o777, 0o600);
  assert.equal(key.size, 32);
});

let garden:
  | { fake: FakeCamera; virtual: () => ReturnType<typeof startVirtualCamera>; deviceId: number }
  | undefined;

test('scan, adopt with the button press, and the camera uploads with the token it got over BLE', async () => {
  let virtual: ReturnType<typeof startVirtualCamera> | undefined;
  let enrolledUrl = '';
  const fake = new FakeCamera({
    address: 'A4:CF:12:10:00:01',
    name: 'ESP32-CAM',
    network: NETWORK,
    requireAuthorization: true,
    onEnrolled: (enrolment) => {
      enrolledUrl = enrolment.hubUrl;
      // What the firmware does next: join the Wi-Fi, call the hub with its new token.
      virtual = startVirtualCamera({ hubUrl: t.url, token: enrolment.deviceToken });
    },
  });
  stops.push(async () => virtual?.stop());
  bluez.add(fake.peripheral);

  const scan = await owner.post('/api/ble/scan', { seconds: 1 });
  assert.equal(scan.status, 200);
  const seen = scan.body.cameras.find((c: { address: string }) => c.address === 'A4:CF:12:10:00:01');
  assert.deepEqual(seen, {
    address: 'A4:CF:12:10:00:01',
    name: 'ESP32-CAM',
    rssi: -60,
    improv: 'authorization_required',
    hearth: true,
  });

  const started = await owner.post('/api/ble/adoptions', {
    address: 'a4:cf:12:10:00:01',
    name: 'Garden cam',
  });
  assert.equal(started.status, 202);
  const { id } = started.body.adoption;
  assert.equal(started.body.adoption.cameraId, 'garden-cam');
  await waitFor('the camera to ask for its button', async () =>
    (await adoption(id)).state === 'waiting_for_button' ? true : undefined,
  );
  assert.equal(fake.identifies, 1, 'the LED blinks so the person knows which camera');
  fake.pressButton();
  const done = await waitFor('the adoption to finish', async () => {
    const now = await adoption(id);
    return ['adopted', 'failed'].includes(now.state) ? now : undefined;
  });
  assert.equal(done.state, 'adopted', JSON.stringify(done));
  assert.equal(done.cameraUrl, 'http://192.168.1.50');
  assert.match(enrolledUrl, /^http:\/\/[a-z0-9-]+\.local:\d+$/);
  const camera = (await owner.get('/api/cameras/garden-cam')).body.camera;
  assert.equal(camera.kind, 'esp32');
  assert.equal(camera.powerProfile, 'battery');
  assert.equal(camera.deviceId, done.deviceId);
  await waitFor('its photos in the gallery', async () => {
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: t.hub.settings.read().timeZone }).format(
      new Date(),
    );
    const { body } = await owner.get(`/api/cameras/garden-cam/photos?day=${day}`);
    return body.photos.length > 0 ? true : undefined;
  });
  const again = await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:10:00:01', name: 'Garden cam' });
  assert.equal(again.status, 409, 'a camera of that name exists');
  garden = { fake, virtual: () => virtual!, deviceId: done.deviceId };
});

test('in range, settings and commands go over GATT at once; out of range they ride on the next upload; the UI data says which way', async () => {
  assert.ok(garden, 'needs the adopted camera of the test before');
  const { fake, deviceId } = garden;
  const member = await t.userWithRole('member');
  const queued = await member.post(`/api/devices/${deviceId}/commands`, { kind: 'capture_now' });
  assert.equal(queued.status, 201);
  const settings = await member.patch(`/api/devices/${deviceId}/camera`, {
    frameSize: 'QVGA',
    burstLength: 2,
  });
  assert.equal(settings.status, 200);
  const overBle = await waitFor('the command and settings over Bluetooth', async () => {
    const { body } = await member.get(`/api/devices/${deviceId}/camera`);
    return body.pendingCommands.length === 0 && body.appliedVersion === body.version ? body : undefined;
  });
  assert.deepEqual(fake.commands, [queued.body.command.id]);
  assert.equal(fake.settings.frameSize, 'QVGA');
  assert.equal(fake.settings.burstLength, 2);
  assert.equal(overBle.recentCommands[0].deliveredVia, 'ble');
  assert.equal(overBle.status.bluetooth, true);
  assert.ok(overBle.status.bleSeenAt > 0);
  assert.equal(overBle.status.firmware, '0.3.1', 'the status characteristic updated the device');

  // Out of range: the command waits for the camera's next upload, and is acknowledged with the one after.
  bluez.remove(fake.peripheral.address);
  const later = await member.post(`/api/devices/${deviceId}/commands`, { kind: 'capture_now' });
  await garden.virtual().trigger();
  await garden.virtual().trigger();
  const viaUpload = await waitFor('the command through the upload reply', async () => {
    const { body } = await member.get(`/api/devices/${deviceId}/camera`);
    return body.pendingCommands.length === 0 ? body : undefined;
  });
  assert.equal(viaUpload.recentCommands[0].id, later.body.command.id);
  assert.equal(viaUpload.recentCommands[0].deliveredVia, 'upload');
  assert.deepEqual(fake.commands, [queued.body.command.id], 'it did not go over Bluetooth');
});

test('owner re-provisions the Wi-Fi and factory-resets over Bluetooth; out of range gets 504; the photos stay', async () => {
  assert.ok(garden, 'needs the adopted camera of the tests before');
  const { fake, deviceId } = garden;
  const member = await t.userWithRole('member');
  assert.equal((await member.post(`/api/ble/devices/${deviceId}/factory-reset`)).status, 403);
  assert.equal((await owner.post('/api/ble/devices/999/wifi')).status, 404);
  const plain = (await owner.post('/api/devices', { name: 'Typed in', kind: 'camera' })).body.device;
  assert.equal((await owner.post(`/api/ble/devices/${plain.id}/factory-reset`)).status, 409);
  // Still out of range from the test before.
  const away = await owner.post(`/api/ble/devices/${deviceId}/factory-reset`);
  assert.equal(away.status, 504);
  assert.match(away.body.error.message, /must be awake and near the hub/);
  assert.equal(
    (await owner.get(`/api/devices/${deviceId}/camera`)).body.pendingCommands.length,
    0,
    'nothing left queued for an upload',
  );

  bluez.add(fake.peripheral);
  const wifi = await owner.post(`/api/ble/devices/${deviceId}/wifi`);
  assert.equal(wifi.status, 200, JSON.stringify(wifi.body));
  assert.deepEqual(wifi.body, { provisioned: true, cameraUrl: 'http://192.168.1.50' });
  const reset = await owner.post(`/api/ble/devices/${deviceId}/factory-reset`);
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  assert.equal(fake.enrolment, null, 'the camera forgot the hub');
  assert.equal((await owner.get(`/api/devices/${deviceId}/camera`)).status, 404, 'the device is retired');
  const camera = (await owner.get('/api/cameras/garden-cam')).body.camera;
  assert.equal(camera.deviceId, null, 'the camera and its photos stay');
});

test('a wrong Wi-Fi password fails with a clear reason and creates nothing', async () => {
  const fake = new FakeCamera({
    address: 'A4:CF:12:10:00:02',
    network: { ssid: 'HomeNet', password: 'another one' },
  });
  bluez.add(fake.peripheral);
  const devicesBefore = (await owner.get('/api/devices')).body.devices.length;
  const { id } = (await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:10:00:02', name: 'Porch' }))
    .body.adoption;
  const done = await waitFor('the adoption to fail', async () => {
    const now = await adoption(id);
    return now.state === 'failed' ? now : undefined;
  });
  assert.equal(done.errorCode, 'unable_to_connect');
  assert.match(done.error, /could not join the Wi-Fi/);
  assert.equal((await owner.get('/api/devices')).body.devices.length, devicesBefore);
  assert.equal((await owner.get('/api/cameras/porch')).status, 404);
  assert.equal(fake.enrolment, null);
});

test('bad input gets its 4xx', async () => {
  const member = await t.userWithRole('member');
  assert.equal(
    (await member.post('/api/ble/adoptions', { address: 'A4:CF:12:10:00:09', name: 'X' })).status,
    403,
  );
  assert.equal(
    (await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:10:00', name: 'X' })).status,
    400,
  );
  assert.equal(
    (await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:10:00:09', name: '' })).status,
    400,
  );
  assert.equal(
    (await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:10:00:09', name: 'X', cameraId: '../etc' }))
      .status,
    400,
  );
  assert.equal((await owner.post('/api/ble/scan', { seconds: 600 })).status, 400);
  assert.equal((await owner.get('/api/ble/adoptions/999')).status, 404);
});

test('a hub killed while a camera waits for its button: after the restart the adoption has failed cleanly, no device left', async () => {
  const fake = new FakeCamera({ address: 'A4:CF:12:10:00:03', network: NETWORK, requireAuthorization: true });
  bluez.add(fake.peripheral);
  const hub = await spawnHub({ env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address } });
  try {
    const setup = await fetch(`${hub.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: hub.url },
      body: JSON.stringify({ code: hub.setupCode, username: 'owner', password: 'owner-password-1' }),
    });
    const cookie = setup.headers.getSetCookie()[0]!.split(';')[0]!;
    const call = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`${hub.url}${url}`, {
        method,
        headers: { cookie, origin: hub.url, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    await waitFor('the spawned hub to find the adapter', async () =>
      (await call('GET', '/api/ble')).body.status.state === 'ready' ? true : undefined,
    );
    assert.equal((await call('PUT', '/api/ble/wifi', NETWORK)).status, 200);
    const { id } = (await call('POST', '/api/ble/adoptions', { address: 'A4:CF:12:10:00:03', name: 'Shed' }))
      .body.adoption;
    await waitFor('the button wait', async () =>
      (await call('GET', `/api/ble/adoptions/${id}`)).body.adoption.state === 'waiting_for_button'
        ? true
        : undefined,
    );
    await hub.kill('SIGKILL');
    const again = await spawnHub({ dataDir: hub.dataDir, env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address } });
    try {
      const login = await fetch(`${again.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: again.url },
        body: JSON.stringify({ username: 'owner', password: 'owner-password-1' }),
      });
      const session = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const get = async (url: string) =>
        (await (await fetch(`${again.url}${url}`, { headers: { cookie: session } })).json()) as any;
      const after = (await get(`/api/ble/adoptions/${id}`)).adoption;
      assert.equal(after.state, 'failed');
      assert.equal(after.errorCode, 'interrupted');
      assert.deepEqual((await get('/api/devices')).devices, []);
      assert.equal(
        (await get('/api/ble/wifi')).ssid,
        'HomeNet',
        'the Wi-Fi survives the restart (key on disk)',
      );
    } finally {
      await again.stop();
    }
  } finally {
    await hub.stop().catch(() => undefined);
  }
});
