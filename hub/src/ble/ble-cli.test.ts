/**
 * `hearth ble status|wifi|scan|adopt` (the compiled CLI) against a private dbus-daemon with the fake
 * BlueZ, next to a running hub on the same data folder, which the adopted camera then calls.
 * Needs `npm run build -w hub`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startVirtualCamera } from '../photos/virtual-camera.js';
import { type PrivateBus, startPrivateBus } from '../testing/ble/dbus-daemon.js';
import { type FakeBluez, startFakeBluez } from '../testing/ble/fake-bluez.js';
import { FakeCamera } from '../testing/ble/fake-camera.js';
import { runCli, type SpawnedHub, spawnHub, tempDir } from '../testing/spawn-hub.js';

let bus: PrivateBus;
let bluez: FakeBluez;
let hub: SpawnedHub;
let env: Record<string, string>;
let virtual: ReturnType<typeof startVirtualCamera> | undefined;

before(async () => {
  bus = await startPrivateBus();
  bluez = await startFakeBluez(bus.address);
  env = { DBUS_SYSTEM_BUS_ADDRESS: bus.address };
  hub = await spawnHub({ env });
});

after(async () => {
  await virtual?.stop();
  await hub.stop();
  await bluez.stop();
  await bus.stop();
});

test('hearth ble: status, Wi-Fi from stdin, scan, and adopt to the end; without D-Bus a clear exit 1', async () => {
  const cli = (args: string[], input?: string, extra: Record<string, string> = env) =>
    runCli(['ble', ...args], { dataDir: hub.dataDir, env: extra, ...(input !== undefined ? { input } : {}) });

  const noBus = await cli(['status'], undefined, {
    DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(tempDir('hearth-nobus-'), 'none')}`,
  });
  assert.equal(noBus.code, 1);
  assert.match(noBus.stdout, /^bluetooth: unavailable \(/);

  const status = await cli(['status']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /bluetooth: ready \(hearth-hub\)/);
  assert.match(status.stdout, /household Wi-Fi: \(not set/);

  assert.equal((await cli(['wifi', 'HomeNet'], 'short\n')).code, 1, 'a 5-character password is refused');
  const wifi = await cli(['wifi', 'HomeNet'], 'correct horse battery\n');
  assert.equal(wifi.code, 0, wifi.stderr);
  assert.doesNotMatch(wifi.stdout + wifi.stderr, /correct horse/);

  const fake = new FakeCamera({
    address: 'A4:CF:12:20:00:01',
    name: 'ESP32-CAM',
    network: { ssid: 'HomeNet', password: 'correct horse battery' },
    onEnrolled: (enrolment) => {
      virtual = startVirtualCamera({ hubUrl: hub.url, token: enrolment.deviceToken });
    },
  });
  bluez.add(fake.peripheral);
  const scan = await cli(['scan', '--seconds', '1']);
  assert.equal(scan.code, 0, scan.stderr);
  assert.match(scan.stdout, /A4:CF:12:20:00:01\s+-60 dBm\s+ESP32-CAM\s+improv:authorized\s+hearth/);

  const adopt = await cli(['adopt', 'A4:CF:12:20:00:01', '--name', 'Attic']);
  assert.equal(adopt.code, 0, adopt.stdout + adopt.stderr);
  assert.match(adopt.stdout, /sending the Wi-Fi settings/);
  assert.match(adopt.lastLine, /camera "Attic" \(attic\) is part of the household now/);
  assert.equal((await cli(['adopt', 'nope'])).code, 1);
});
