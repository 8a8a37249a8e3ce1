/**
 * The hub against the firmware's own C++ BLE engine (firmware/lib/hearth_core, built for the host):
 * the fake radio forwards GATT traffic to it, so adoption (Improv with the button, Wi-Fi, chunked
 * enrolment), a wrong password, and a command over GATT all cross the real code of both sides.
 * Needs g++ and make (the engine builds itself here).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startVirtualCamera } from '../photos/virtual-camera.js';
import { type PrivateBus, startPrivateBus } from '../testing/ble/dbus-daemon.js';
import { type FakeBluez, startFakeBluez } from '../testing/ble/fake-bluez.js';
import { buildFirmwareEngine, FirmwareCamera } from '../testing/ble/firmware-camera.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';

const NETWORK = { ssid: 'HomeNet', password: 'correct horse battery' };
let bus: PrivateBus;
let bluez: FakeBluez;
let t: TestHub;
let owner: TestClient;
const cleanup: (() => Promise<void>)[] = [];

before(async () => {
  buildFirmwareEngine();
  bus = await startPrivateBus();
  bluez = await startFakeBluez(bus.address);
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  t = await startTestHub({ photos: { uploadsPerMinute: 0 }, ble: { contactSeconds: 20 } });
  owner = await t.owner();
  await waitFor('the adapter', async () =>
    (await owner.get('/api/ble')).body.status.state === 'ready' ? true : undefined,
  );
  assert.equal((await owner.put('/api/ble/wifi', NETWORK)).status, 200);
});

after(async () => {
  for (const step of cleanup) await step();
  await t.stop();
  await bluez.stop();
  await bus.stop();
});

const finished = (id: number) =>
  waitFor('the adoption to finish', async () => {
    const { adoption } = (await owner.get(`/api/ble/adoptions/${id}`)).body;
    return ['adopted', 'failed'].includes(adoption.state) ? adoption : undefined;
  });

test('adopted through the firmware core: button, Wi-Fi, chunked enrolment; then a command over GATT', async () => {
  let virtual: ReturnType<typeof startVirtualCamera> | undefined;
  const camera = new FirmwareCamera({
    address: 'A4:CF:12:40:00:01',
    network: NETWORK,
    requireAuthorization: true,
    onEnrolled: (enrolment) => {
      virtual = startVirtualCamera({ hubUrl: t.url, token: enrolment.deviceToken, intervalSeconds: 600 });
    },
  });
  cleanup.push(async () => {
    await virtual?.stop();
    await camera.stop();
  });
  bluez.add(camera.peripheral);
  const { id } = (await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:40:00:01', name: 'Core cam' }))
    .body.adoption;
  await waitFor('the button step', async () =>
    (await owner.get(`/api/ble/adoptions/${id}`)).body.adoption.state === 'waiting_for_button'
      ? true
      : undefined,
  );
  await camera.pressButton();
  const done = await finished(id);
  assert.equal(done.state, 'adopted', JSON.stringify(done));
  assert.equal(done.firmware, 'Hearth Camera 0.1.0-host', 'Improv device info from the core');
  assert.equal(done.cameraUrl, 'http://192.168.1.60');
  assert.equal(camera.enrolments.length, 1);
  assert.match(camera.enrolments[0]!.deviceToken, /^hd_/);
  assert.equal(
    camera.enrolments[0]!.signingKey,
    t.hub.firmware.signingKey(),
    'the core holds the key it will check firmware images with',
  );

  const command = await owner.post(`/api/devices/${done.deviceId}/commands`, { kind: 'capture_now' });
  const state = await waitFor('the command over GATT', async () => {
    const { body } = await owner.get(`/api/devices/${done.deviceId}/camera`);
    return body.pendingCommands.length === 0 ? body : undefined;
  });
  assert.equal(state.recentCommands[0].id, command.body.command.id);
  assert.equal(state.recentCommands[0].deliveredVia, 'ble');
  assert.equal(state.status.firmware, '0.1.0-host', 'the status characteristic, encoded by the core');
});

test('a wrong Wi-Fi password: the core answers Improv error 03 and the hub says why', async () => {
  const camera = new FirmwareCamera({
    address: 'A4:CF:12:40:00:02',
    network: { ssid: 'HomeNet', password: 'other' },
  });
  cleanup.push(() => camera.stop());
  bluez.add(camera.peripheral);
  const { id } = (await owner.post('/api/ble/adoptions', { address: 'A4:CF:12:40:00:02', name: 'Wrong pw' }))
    .body.adoption;
  const done = await finished(id);
  assert.equal(done.state, 'failed');
  assert.equal(done.errorCode, 'unable_to_connect');
  assert.equal(camera.enrolments.length, 0);
});
