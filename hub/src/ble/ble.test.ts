/**
 * The BLE manager, Improv and the Hearth service through node-ble, unmodified, on a real private
 * dbus-daemon with the fake BlueZ and fake cameras (hub/src/testing/ble): the happy path, every
 * misbehaviour ending in its clear error within its timeout with the manager still working after, no
 * listener leak over 50 connections, and "unavailable" without D-Bus.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../log/logger.js';
import { type PrivateBus, startPrivateBus } from '../testing/ble/dbus-daemon.js';
import { type FakeBluez, startFakeBluez } from '../testing/ble/fake-bluez.js';
import { FakeCamera, type FakeCameraOptions } from '../testing/ble/fake-camera.js';
import { tempDir } from '../testing/spawn-hub.js';
import { BleError, type BleManager, createBleManager } from './ble-manager.js';
import { hearthClient } from './hearth-client.js';
import { openImprov, ProvisioningError } from './improv-client.js';

const NETWORK = { ssid: 'HomeNet', password: 'correct horse battery' };
const log = createLogger('silent');

let bus: PrivateBus;
let bluez: FakeBluez;
let ble: BleManager;
let next = 1;

function camera(options: Partial<FakeCameraOptions> = {}): FakeCamera {
  const address = `A4:CF:12:00:00:${(next++).toString(16).padStart(2, '0').toUpperCase()}`;
  const fake = new FakeCamera({ address, network: NETWORK, ...options });
  bluez.add(fake.peripheral);
  return fake;
}

const address = (fake: FakeCamera) => fake.peripheral.address;

before(async () => {
  bus = await startPrivateBus();
  bluez = await startFakeBluez(bus.address);
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  ble = createBleManager({
    log,
    timeouts: { connectMs: 2000, servicesMs: 800, operationMs: 2000, discoverMs: 1000 },
  });
});

after(async () => {
  await ble.stop();
  await bluez.stop();
  await bus.stop();
});

test('without D-Bus the manager says unavailable, and says why', async () => {
  const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
  process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${path.join(tempDir('hearth-nobus-'), 'none')}`;
  try {
    const lonely = createBleManager({ log });
    const status = await lonely.probe();
    assert.equal(status.state, 'unavailable');
    assert.match((status as { reason: string }).reason, /ENOENT|connect/);
    await assert.rejects(
      lonely.scan(10),
      (error: unknown) => error instanceof BleError && error.code === 'unavailable',
    );
    await lonely.stop();
  } finally {
    process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
  }
});

test('a scan lists cameras advertising Improv or Hearth, strongest first, with their Improv state', async () => {
  const near = camera({ rssi: -40, name: 'Door cam' });
  const far = camera({ rssi: -80, requireAuthorization: true });
  bluez.add({
    address: 'DE:AD:BE:EF:00:01',
    name: 'Headphones',
    rssi: -30,
    uuids: [],
    serviceData: {},
    services: [],
  });
  assert.deepEqual(await ble.probe(), { state: 'ready', adapter: 'hearth-hub' });
  const found = await ble.scan(50);
  const mine = found.filter((c) => [address(near), address(far)].includes(c.address));
  assert.deepEqual(
    mine.map((c) => [c.name, c.rssi, c.improv, c.hearth]),
    [
      ['Door cam', -40, 'authorized', true],
      ['Hearth Camera', -80, 'authorization_required', true],
    ],
  );
  assert.equal(
    found.some((c) => c.name === 'Headphones'),
    false,
  );
});

test('provisioning with the button press, enrolment, status and a command, all in writes of 20 bytes', async () => {
  let enrolled: unknown;
  const fake = camera({ requireAuthorization: true, onEnrolled: (e) => (enrolled = e) });
  const urls = await ble.withLink(address(fake), async (link) => {
    const improv = await openImprov(link);
    assert.equal(improv.state(), 'authorization_required');
    assert.deepEqual(await improv.deviceInfo(), {
      firmware: 'Hearth Camera',
      version: '0.3.1',
      chip: 'ESP32',
      name: 'Hearth Camera',
    });
    await improv.identify();
    // The person sees the LED blink and presses the button.
    setTimeout(() => fake.pressButton(), 50);
    await improv.authorized(2000);
    // The longest SSID and password there are: a 101-byte frame, six writes.
    const long = { ssid: 'S'.repeat(32), password: 'p'.repeat(64) };
    const wrong = await improv.provision(long.ssid, long.password, 2000).catch((e: unknown) => e);
    assert.ok(wrong instanceof ProvisioningError && wrong.code === 'unable_to_connect', String(wrong));
    const reported = await improv.provision(NETWORK.ssid, NETWORK.password, 2000);

    const statuses: unknown[] = [];
    await hearthClient.subscribeStatus(link, (status) => statuses.push(status));
    await hearthClient.enrol(link, {
      hubUrl: 'http://hearth.local:8080',
      hubAddressUrl: 'http://192.168.1.10:8080',
      deviceToken: 'hd_0123456789abcdefghij',
      signingKey: '00'.repeat(32),
    });
    await hearthClient.sendCommands(link, [{ id: 41, kind: 'capture_now' }]);
    const status = await hearthClient.readStatus(link);
    assert.equal(status.enrolled, true);
    assert.equal(status.wifiState, 'connected');
    assert.equal(status.lastCommandId, 41);
    assert.ok(statuses.length >= 2, 'status notifications arrive, joined from their chunks');
    return reported;
  });
  assert.deepEqual(urls, ['http://192.168.1.50']);
  assert.equal(fake.identifies, 1);
  assert.deepEqual(enrolled, {
    hubUrl: 'http://hearth.local:8080',
    hubAddressUrl: 'http://192.168.1.10:8080',
    deviceToken: 'hd_0123456789abcdefghij',
    signingKey: '00'.repeat(32),
  });
  assert.deepEqual(fake.commands, [41]);
});

/** After each misbehaviour the manager must still adopt a well-behaved camera. */
async function stillWorks(): Promise<void> {
  const good = camera();
  const state = await ble.withLink(address(good), async (link) => (await openImprov(link)).state());
  assert.equal(state, 'authorized');
}

test('misbehaving cameras end in clear errors within their timeouts, and the manager keeps working', async (t) => {
  await t.test('services never resolved: a timeout, not a hang', async () => {
    const fake = camera({ misbehave: { neverResolveServices: true } });
    const started = Date.now();
    await assert.rejects(
      ble.withLink(address(fake), async () => undefined),
      (error: unknown) =>
        error instanceof BleError && error.code === 'timeout' && /services/.test(error.message),
    );
    assert.ok(Date.now() - started < 3000);
    await stillWorks();
  });

  await t.test('the link drops in the middle of the enrolment', async () => {
    const fake = camera({ misbehave: { dropOnWrite: 3 } });
    await assert.rejects(
      ble.withLink(address(fake), (link) =>
        hearthClient.enrol(link, {
          hubUrl: 'http://hearth.local:8080',
          deviceToken: 'hd_0123456789abcdefghij',
        }),
      ),
      (error: unknown) => error instanceof BleError && error.code === 'disconnected',
    );
    assert.equal(fake.enrolment, null, 'nothing half-written counts as enrolled');
    await stillWorks();
  });

  await t.test('an answer with a bad checksum', async () => {
    const fake = camera({ misbehave: { badChecksum: true } });
    await assert.rejects(
      ble.withLink(address(fake), async (link) => (await openImprov(link)).deviceInfo(1000)),
      (error: unknown) =>
        error instanceof ProvisioningError && error.code === 'bad_result' && /checksum/.test(error.message),
    );
    await stillWorks();
  });

  await t.test('nobody presses the button', async () => {
    const fake = camera({ requireAuthorization: true });
    await assert.rejects(
      ble.withLink(address(fake), async (link) => (await openImprov(link)).authorized(300)),
      (error: unknown) => error instanceof ProvisioningError && error.code === 'not_authorized',
    );
    await stillWorks();
  });

  await t.test('connection aborts are retried with backoff; too many end in a clear failure', async () => {
    const flaky = camera({ misbehave: { abortConnects: 2 } });
    assert.equal(await ble.withLink(address(flaky), async () => 'connected'), 'connected');
    const hopeless = camera({ misbehave: { abortConnects: 10 } });
    await assert.rejects(
      ble.withLink(address(hopeless), async () => undefined),
      (error: unknown) => error instanceof BleError && /le-connection-abort-by-local/.test(error.message),
    );
    await stillWorks();
  });

  await t.test('a camera that is gone', async () => {
    await assert.rejects(
      ble.withLink('A4:CF:12:FF:FF:FF', async () => undefined),
      (error: unknown) => error instanceof BleError && error.code === 'not_found',
    );
  });
});

test('50 connections with notifications leave no listener behind', async () => {
  const fake = camera();
  const cycle = () =>
    ble.withLink(address(fake), async (link) => {
      await openImprov(link);
      await hearthClient.subscribeStatus(link, () => {});
    });
  await cycle();
  const baseline = ble.signalListeners();
  for (let i = 0; i < 50; i++) await cycle();
  assert.equal(ble.signalListeners(), baseline);
  assert.equal(bluez.connections() >= 51, true);
});
